package io.sparkprop.job;

import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Samples;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Reads a job's data into DataFrames of {@code features} (Vector) and {@code label} (double), through
 * Spark's own readers where Spark has one (LIBSVM, CSV, Parquet); IDX files and the bundled sample
 * are decoded here, synthetic data is generated on the executors from the seed.
 */
final class JobData {
    private static final StructType SCHEMA = new StructType().add("features", SQLDataTypes.VectorType())
            .add("label", DataTypes.DoubleType);

    private static final int SYNTHETIC_SLICE = 50_000;

    private JobData() {
    }

    /** The training data, and the separate test data or {@code null}. */
    static Dataset<Row>[] read(SparkSession spark, JobConfig c) {
        String format = c.string("data.format");
        String path = c.string("data.path");
        String test = c.string("data.test.path");
        @SuppressWarnings("unchecked")
        Dataset<Row>[] out = new Dataset[2];
        if (Arrays.asList("libsvm", "csv", "parquet").contains(format)) {
            requireExists(spark, "data.path", path);
            if (!test.isEmpty()) {
                requireExists(spark, "data.test.path", test);
            }
        }
        switch (format) {
            case "sample":
                out[0] = Samples.fashionMnist(spark);
                break;
            case "idx":
                out[0] = idx(spark, path, "train");
                out[1] = idx(spark, test.isEmpty() ? path : test, "t10k");
                break;
            case "libsvm":
                out[0] = spark.read().format("libsvm").load(path).select("features", "label");
                if (!test.isEmpty()) {
                    int n = ((org.apache.spark.ml.linalg.Vector) out[0].first().get(0)).size();
                    out[1] = spark.read().format("libsvm").option("numFeatures", n).load(test).select("features", "label");
                }
                break;
            case "csv":
                out[0] = tabular(spark.read().option("header", c.bool("data.csv.header")).option("inferSchema", true)
                        .csv(path), c);
                if (!test.isEmpty()) {
                    out[1] = tabular(spark.read().option("header", c.bool("data.csv.header"))
                            .option("inferSchema", true).csv(test), c);
                }
                break;
            case "parquet":
                out[0] = tabular(spark.read().parquet(path), c);
                if (!test.isEmpty()) {
                    out[1] = tabular(spark.read().parquet(test), c);
                }
                break;
            default:
                out[0] = synthetic(spark, c.integer("data.synthetic.rows"), c.integer("data.synthetic.features"),
                        c.real("data.synthetic.noise"), c.longValue("split.seed"));
        }
        return out;
    }

    private static void requireNumeric(Dataset<Row> df, String column, String role) {
        org.apache.spark.sql.types.DataType type = df.schema().apply(column).dataType();
        if (!(type instanceof org.apache.spark.sql.types.NumericType)) {
            throw new IllegalArgumentException(role + " column '" + column + "' must be numeric, found "
                    + type.simpleString());
        }
    }

    private static void requireExists(SparkSession spark, String key, String path) {
        Path p = new Path(path);
        try {
            if (!p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p)) {
                throw new IllegalArgumentException(key + " " + path + " does not exist");
            }
        } catch (java.io.IOException e) {
            throw new UncheckedIOException("cannot check " + key + " " + path + ": " + e.getMessage(), e);
        }
    }

    /** Feature columns assembled into a Vector (unless a {@code features} Vector column is there) and a double label. */
    private static Dataset<Row> tabular(Dataset<Row> df, JobConfig c) {
        if (df.isEmpty()) {
            throw new IllegalArgumentException("the training data is empty: " + c.string("data.path") + " has no rows");
        }
        String label = c.string("data.label.column");
        if (!Arrays.asList(df.columns()).contains(label)) {
            throw new IllegalArgumentException("data.label.column '" + label + "' is not a column of the data; "
                    + "columns: " + String.join(", ", df.columns()));
        }
        requireNumeric(df, label, "label");
        List<String> features = c.names("data.feature.columns");
        if (features.isEmpty() && Arrays.asList(df.columns()).contains("features")
                && df.schema().apply("features").dataType().equals(SQLDataTypes.VectorType())) {
            return df.select(functions.col("features"), functions.col(label).cast(DataTypes.DoubleType).as("label"));
        }
        if (features.isEmpty()) {
            for (String column : df.columns()) {
                if (!column.equals(label)) {
                    features.add(column);
                }
            }
        }
        for (String f : features) {
            if (!Arrays.asList(df.columns()).contains(f)) {
                throw new IllegalArgumentException("data.feature.columns names '" + f + "', which is not a column; "
                        + "columns: " + String.join(", ", df.columns()));
            }
            requireNumeric(df, f, "feature");
        }
        // "keep": NaN and infinite values reach the packer, whose error names the feature and the row
        Dataset<Row> assembled = new VectorAssembler().setInputCols(features.toArray(new String[0]))
                .setOutputCol("__features").setHandleInvalid("keep").transform(df);
        return assembled.select(functions.col("__features").as("features"),
                functions.col(label).cast(DataTypes.DoubleType).as("label"));
    }

    /** {@code <prefix>-images-idx3-ubyte.gz} and labels from a folder. */
    private static Dataset<Row> idx(SparkSession spark, String folder, String prefix) {
        String images = prefix + "-images-idx3-ubyte.gz";
        String labels = prefix + "-labels-idx1-ubyte.gz";
        try (InputStream imageStream = open(spark, folder, images); InputStream labelStream = open(spark, folder, labels)) {
            return Samples.fromIdx(spark, imageStream, images, labelStream, labels);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException("cannot read " + images + " or " + labels + ": " + e.getMessage(), e);
        }
    }

    private static InputStream open(SparkSession spark, String folder, String file) throws java.io.IOException {
        Path p = new Path(folder, file);
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (!fs.exists(p)) {
            throw new IllegalArgumentException("data file " + p + " does not exist");
        }
        FSDataInputStream in = fs.open(p);
        return in;
    }

    /**
     * {@code y = x·β + 1 + noise}, features uniform in [−1, 1], generated from the seed in slices of
     * {@value #SYNTHETIC_SLICE} rows, so that the data are the same on any cluster.
     */
    static Dataset<Row> synthetic(SparkSession spark, int rows, int n, double noise, long seed) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int partitions = (rows + SYNTHETIC_SLICE - 1) / SYNTHETIC_SLICE;
        List<Integer> parts = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            parts.add(p);
        }
        JavaRDD<Row> data = sc.parallelize(parts, partitions).flatMap(p -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + p);
            int count = rows / partitions + (p < rows % partitions ? 1 : 0);
            List<Row> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                double[] x = new double[n];
                double y = 1.0;
                for (int j = 0; j < n; j++) {
                    x[j] = 2 * random.nextDouble() - 1;
                    y += Math.cos(j) * x[j];
                }
                out.add(RowFactory.create(Vectors.dense(x), y + noise * (2 * random.nextDouble() - 1)));
            }
            return out.iterator();
        });
        return spark.createDataFrame(data, SCHEMA);
    }
}
