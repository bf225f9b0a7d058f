package io.sparkprop.job;

import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.sparkprop.data.Samples;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads a job's data into DataFrames of {@code features} (Vector) and {@code label} (double), through
 * Spark's own readers where Spark has one (LIBSVM, CSV, Parquet); IDX files and the bundled sample
 * are decoded here, synthetic data is generated on the executors from the seed.
 */
final class JobData {
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
            case "libsvm": {
                // Spark's reader keeps the rows sparse; without numFeatures it makes a pass to find the width
                int given = c.integer("data.libsvm.numFeatures");
                org.apache.spark.sql.DataFrameReader reader = spark.read().format("libsvm");
                out[0] = (given > 0 ? reader.option("numFeatures", given) : reader).load(path)
                        .select("features", "label");
                if (!test.isEmpty()) {
                    int n = given > 0 ? given : ((org.apache.spark.ml.linalg.Vector) out[0].first().get(0)).size();
                    out[1] = spark.read().format("libsvm").option("numFeatures", n).load(test).select("features", "label");
                }
                break;
            }
            case "synthetic-sparse":
                out[0] = io.sparkprop.data.SparseSynthetic.frame(spark, c.integer("data.synthetic.rows"),
                        c.integer("data.synthetic.features"), c.integer("data.synthetic.nonZeros"),
                        c.longValue("split.seed"));
                break;
            case "csv":
            case "parquet":
                out[0] = tabular(rawTable(spark, c, path), c);
                if (!test.isEmpty()) {
                    out[1] = tabular(rawTable(spark, c, test), c);
                }
                break;
            default:
                out[0] = synthetic(spark, c.integer("data.synthetic.rows"), c.integer("data.synthetic.features"),
                        c.real("data.synthetic.noise"), c.longValue("split.seed"));
        }
        return out;
    }

    /** A csv or parquet source as Spark reads it, before the features are assembled. */
    private static Dataset<Row> rawTable(SparkSession spark, JobConfig c, String path) {
        return c.string("data.format").equals("csv")
                ? spark.read().option("header", c.bool("data.csv.header")).option("inferSchema", true).csv(path)
                : spark.read().parquet(path);
    }

    /**
     * For a csv or parquet source: the first row (in file order, as Spark reads them) with an empty,
     * NaN or infinite value in a column the job uses, described by what a user can find — the column's
     * name, the file, and the row's first values; {@code null} if there is none or the source is of
     * another kind. Run only after training has failed on a non-finite value: the packer can name only
     * a feature's index and a row's position in its partition.
     */
    static String describeFirstNonFiniteRow(SparkSession spark, JobConfig c) {
        String format = c.string("data.format");
        if (!format.equals("csv") && !format.equals("parquet")) {
            return null;
        }
        Dataset<Row> df = rawTable(spark, c, c.string("data.path"));
        List<String> used = new ArrayList<>(featureColumns(df, c));
        used.add(c.string("data.label.column"));
        // a ready-made Vector column is the packer's to describe
        used.removeIf(name -> !Arrays.asList(df.columns()).contains(name)
                || !(df.schema().apply(name).dataType() instanceof org.apache.spark.sql.types.NumericType));
        org.apache.spark.sql.Column bad = functions.lit(false);
        for (String column : used) {
            org.apache.spark.sql.Column v = functions.col(column).cast(DataTypes.DoubleType);
            bad = bad.or(v.isNull()).or(functions.isnan(v)).or(v.equalTo(Double.POSITIVE_INFINITY))
                    .or(v.equalTo(Double.NEGATIVE_INFINITY));
        }
        List<Row> rows = df.withColumn("__file", functions.input_file_name()).filter(bad).limit(1).collectAsList();
        if (rows.isEmpty()) {
            return null;
        }
        Row row = rows.get(0);
        String column = null;
        String what = null;
        for (String name : used) {
            Object value = row.get(row.fieldIndex(name));
            double d = value == null ? Double.NaN : ((Number) value).doubleValue();
            if (value == null || !Double.isFinite(d)) {
                column = name;
                what = value == null ? "empty (null)" : Double.toString(d);
                break;
            }
        }
        StringBuilder values = new StringBuilder();
        String[] columns = df.columns();
        for (int i = 0; i < Math.min(columns.length, 8); i++) {
            values.append(i == 0 ? "" : ", ").append(columns[i]).append('=').append(row.get(i));
        }
        if (columns.length > 8) {
            values.append(", …");
        }
        return String.format("column '%s' is %s in a row of %s (%s); %s", column, what, row.getString(
                row.fieldIndex("__file")), values, io.sparkprop.exec.ShardPacker.NON_FINITE_ADVICE);
    }

    /** The feature columns of a csv or parquet source: {@code data.feature.columns}, or all but the label. */
    private static List<String> featureColumns(Dataset<Row> df, JobConfig c) {
        String label = c.string("data.label.column");
        List<String> features = c.names("data.feature.columns");
        if (features.isEmpty()) {
            for (String column : df.columns()) {
                if (!column.equals(label)) {
                    features.add(column);
                }
            }
        }
        return features;
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
        features = featureColumns(df, c);
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
     * {@code y = x·β + 1 + noise}, features uniform in [−1, 1], generated from the seed on the executors
     * ({@link io.sparkprop.data.GeneratedRows}), so that the data are the same on any cluster.
     */
    static Dataset<Row> synthetic(SparkSession spark, int rows, int n, double noise, long seed) {
        return io.sparkprop.data.GeneratedRows.frame(spark, rows, seed, random -> {
            double[] x = new double[n];
            double y = 1.0;
            for (int j = 0; j < n; j++) {
                x[j] = 2 * random.nextDouble() - 1;
                y += Math.cos(j) * x[j];
            }
            return RowFactory.create(Vectors.dense(x), y + noise * (2 * random.nextDouble() - 1));
        });
    }
}
