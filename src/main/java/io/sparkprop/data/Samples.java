package io.sparkprop.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Data bundled in the jar: the 10,000 test images of Fashion-MNIST (MIT licence, Zalando SE; see
 * {@code io/sparkprop/sample/fashion-mnist/LICENSE} in the jar), for the quick start and examples.
 */
public final class Samples {
    /** The resource folder of the sample. */
    public static final String FASHION_MNIST = "/io/sparkprop/sample/fashion-mnist/";

    private Samples() {
    }

    /**
     * The sample as a DataFrame of {@code features} (784 pixel values in [0, 1], a Vector) and
     * {@code label} (the class 0–9, a double).
     */
    public static Dataset<Row> fashionMnist(SparkSession spark) {
        double[][] x;
        int[] y;
        try (InputStream images = open("t10k-images-idx3-ubyte.gz"); InputStream labels = open("t10k-labels-idx1-ubyte.gz")) {
            x = IdxReader.readImages(images, "t10k-images-idx3-ubyte.gz", 1 / 255.0);
            y = IdxReader.readLabels(labels, "t10k-labels-idx1-ubyte.gz");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled sample: " + e.getMessage(), e);
        }
        List<Row> rows = new ArrayList<>(x.length);
        for (int i = 0; i < x.length; i++) {
            rows.add(RowFactory.create(Vectors.dense(x[i]).compressed(), (double) y[i]));
        }
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        return spark.createDataFrame(rows, schema);
    }

    private static InputStream open(String file) {
        InputStream in = Samples.class.getResourceAsStream(FASHION_MNIST + file);
        if (in == null) {
            throw new IllegalStateException("the bundled sample " + FASHION_MNIST + file + " is missing from the jar");
        }
        return in;
    }
}
