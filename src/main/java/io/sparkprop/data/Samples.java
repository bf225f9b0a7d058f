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
        String images = "t10k-images-idx3-ubyte.gz";
        String labels = "t10k-labels-idx1-ubyte.gz";
        try (InputStream imageStream = open(images); InputStream labelStream = open(labels)) {
            return fromIdx(spark, imageStream, images, labelStream, labels);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled sample: " + e.getMessage(), e);
        }
    }

    /**
     * A DataFrame of {@code features} (pixels scaled to [0, 1]) and {@code label} from an IDX image
     * stream and the matching label stream (names ending in {@code .gz} mean gzipped; they also name
     * the sources in errors). The streams are not closed.
     *
     * @throws IllegalArgumentException if the files are not IDX files or hold different counts
     */
    public static Dataset<Row> fromIdx(SparkSession spark, InputStream images, String imagesName,
                                       InputStream labels, String labelsName) {
        double[][] x = IdxReader.readImages(images, imagesName, 1 / 255.0);
        int[] y = IdxReader.readLabels(labels, labelsName);
        if (x.length != y.length) {
            throw new IllegalArgumentException(imagesName + " has " + x.length + " images but " + labelsName + " has "
                    + y.length + " labels");
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
