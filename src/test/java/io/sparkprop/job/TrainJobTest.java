package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;

import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(LocalSpark.class)
class TrainJobTest {
    private static SparkSession spark;

    @TempDir
    Path dir;

    private Properties config(String... pairs) {
        Properties p = new Properties();
        p.setProperty("output.dir", dir.resolve("out").toString());
        for (int i = 0; i < pairs.length; i += 2) {
            p.setProperty(pairs[i], pairs[i + 1]);
        }
        return p;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> test(Map<String, Object> metrics) {
        return (Map<String, Object>) metrics.get("test");
    }

    /** The quick start in float32: the same accuracy bar, and the precision recorded in metrics.json. */
    @Test
    void theQuickStartInFloat32ReachesTheSameAccuracy() throws IOException {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream("conf/quickstart.properties")) {
            p.load(in);
        }
        Path out = dir.resolve("quickstart-f32");
        p.setProperty("output.dir", out.toString());
        p.setProperty("train.precision", "float32");
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(p), spark);
        double accuracy = (Double) test(metrics).get("accuracy");
        assertTrue(accuracy >= 0.80, "test accuracy " + accuracy);
        assertEquals("float32", metrics.get("precision"));
        assertTrue(Files.readString(out.resolve("metrics.json")).contains("\"precision\" : \"float32\""));
    }

    /** The quick start trains to a test accuracy of at least 0.80 on its sample and writes its outputs. */
    @Test
    void theQuickStartReachesItsAccuracyAndWritesItsOutputs() throws IOException {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream("conf/quickstart.properties")) {
            p.load(in);
        }
        Path out = dir.resolve("quickstart");
        p.setProperty("output.dir", out.toString());
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(p), spark);
        double accuracy = (Double) test(metrics).get("accuracy");
        assertTrue(accuracy >= 0.80, "test accuracy " + accuracy);
        assertTrue(Files.readString(out.resolve("metrics.json")).contains("\"confusionMatrix\""));
        List<String> history = Files.readAllLines(out.resolve("history.csv"));
        assertEquals("epoch,train_loss,validation_loss,validation_accuracy,elapsed_seconds,step_size,clipped_updates",
                history.get(0));
        // the schedule's value of the epoch's first update: the quick start's constant step
        assertTrue(history.get(1).endsWith("," + JobConfig.parse(p).mlpSettings().stepSize() + ",0"), history.get(1));
        assertTrue(history.size() >= 2);
        PipelineModel model = PipelineModel.load(out.resolve("model").toString());
        assertEquals(1, model.stages().length);
        assertTrue(!Files.exists(out.resolve("model.onnx")), "ONNX only when output.onnx is set");
        for (String png : new String[] {"loss.png", "accuracy.png", "step-size.png"}) {
            byte[] bytes = Files.readAllBytes(out.resolve(png));
            assertEquals((byte) 0x89, bytes[0], png + " is a PNG");
            assertEquals('P', bytes[1]);
        }
        String report = Files.readString(out.resolve("report.html"));
        assertTrue(report.contains("<img alt=\"Loss per epoch\" src=\"data:image/png;base64,"), "charts inlined");
        assertTrue(report.contains("<th>model.hidden</th><td>128</td>"), "the configuration is shown");
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains(".tmp-")), "no temporary folder left");
        }
    }

    @Test
    void anExistingOutputFolderIsRefusedUnlessOverwriting() throws IOException {
        Files.createDirectories(dir.resolve("out"));
        Properties p = config("data.format", "synthetic", "data.synthetic.rows", "200", "model.type", "ridge");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainJob.run(JobConfig.parse(p), spark));
        assertEquals("output.dir " + dir.resolve("out") + " exists; set output.overwrite=true or choose another folder",
                e.getMessage());
        p.setProperty("output.overwrite", "true");
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(p), spark);
        assertTrue((Double) test(metrics).get("r2") > 0.99, metrics.toString());
    }

    /** A killed run's temporary output folder is removed by the next run to the same output; others stay. */
    @Test
    void aStaleTemporaryOutputFolderIsRemoved() throws IOException {
        Path stale = dir.resolve(".out.tmp-1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        Files.createDirectories(stale.resolve("model"));
        Files.writeString(stale.resolve("model").resolve("part-00000"), "half-written");
        Path other = Files.createDirectories(dir.resolve(".other.tmp-1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
        TrainJob.run(JobConfig.parse(config("data.format", "synthetic", "data.synthetic.rows", "200", "model.type",
                "ridge")), spark);
        assertTrue(Files.isDirectory(dir.resolve("out").resolve("model")));
        assertTrue(!Files.exists(stale), "removed: " + stale);
        assertTrue(Files.isDirectory(other), "another output's folder stays");
    }

    /** resume=true after a crash ends with the model of an uninterrupted run. */
    @Test
    void aResumedJobEqualsAnUninterruptedOne() throws IOException {
        String[] common = {"data.format", "synthetic", "data.synthetic.rows", "400", "data.synthetic.features", "5",
            "model.type", "mlp-regressor", "model.hidden", "6", "train.stepSize", "0.01", "train.tol", "0",
            "train.batchSize", "64", "output.overwrite", "true"};
        Properties whole = config(common);
        whole.setProperty("train.maxEpochs", "5");
        TrainJob.run(JobConfig.parse(whole), spark);
        double[] expected = weights(dir.resolve("out"));

        Properties crashed = config(common);
        crashed.setProperty("train.maxEpochs", "3");
        crashed.setProperty("checkpoint.dir", dir.resolve("ckpt").toString());
        crashed.setProperty("checkpoint.every", "2");
        TrainJob.run(JobConfig.parse(crashed), spark);
        Properties resumed = config(common);
        resumed.setProperty("train.maxEpochs", "5");
        resumed.setProperty("checkpoint.dir", dir.resolve("ckpt").toString());
        resumed.setProperty("checkpoint.every", "2");
        resumed.setProperty("resume", "true");
        TrainJob.run(JobConfig.parse(resumed), spark);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, weights(dir.resolve("out")), 0.0);
    }

    private static double[] weights(Path output) {
        PipelineModel model = PipelineModel.load(output.resolve("model").toString());
        return ((io.sparkprop.ml.MlpModel<?>) model.stages()[0]).parameters().toFlat();
    }

    @Test
    void csvWithStandardScalingAndRidge() throws IOException {
        SplittableRandom random = new SplittableRandom(1);
        StringBuilder csv = new StringBuilder("x1,x2,skip,target\n");
        for (int i = 0; i < 300; i++) {
            double a = random.nextDouble();
            double b = 100 * random.nextDouble();
            csv.append(a).append(',').append(b).append(",zzz,").append(3 * a - 0.02 * b + 1).append('\n');
        }
        Path file = dir.resolve("data.csv");
        Files.writeString(file, csv);
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(config("data.format", "csv", "data.path",
                file.toString(), "data.label.column", "target", "data.feature.columns", "x1,x2", "data.scale",
                "standard", "model.type", "ridge", "output.onnx", "true")), spark);
        assertTrue((Double) test(metrics).get("r2") > 0.999, metrics.toString());
        // the pipeline as ONNX, the scaler in it: on the raw features of the first row it predicts as Spark does
        PipelineModel model = PipelineModel.load(dir.resolve("out").resolve("model").toString());
        double[] x = {0, 0};
        String[] first = csv.toString().split("\n")[1].split(",");
        x[0] = Double.parseDouble(first[0]);
        x[1] = Double.parseDouble(first[1]);
        double expected = model.transform(spark.createDataFrame(java.util.List.of(org.apache.spark.sql.RowFactory.create(
                org.apache.spark.ml.linalg.Vectors.dense(x))), new org.apache.spark.sql.types.StructType()
                .add("features", org.apache.spark.ml.linalg.SQLDataTypes.VectorType()))).first().getAs("prediction");
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (ai.onnxruntime.OrtSession session = env.createSession(dir.resolve("out").resolve("model.onnx").toString(),
                new ai.onnxruntime.OrtSession.SessionOptions());
             ai.onnxruntime.OnnxTensor input = ai.onnxruntime.OnnxTensor.createTensor(env, new double[][] {x});
             ai.onnxruntime.OrtSession.Result r = session.run(Map.of("features", input))) {
            assertEquals(expected, ((double[][]) r.get("prediction").get().getValue())[0][0],
                    1e-12 * Math.abs(expected));
        } catch (ai.onnxruntime.OrtException e) {
            throw new AssertionError(e);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainJob.run(JobConfig.parse(config("data.format", "csv", "data.path", file.toString(),
                        "data.label.column", "y", "model.type", "ridge", "output.overwrite", "true")), spark));
        assertEquals("data.label.column 'y' is not a column of the data; columns: x1, x2, skip, target", e.getMessage());
    }

    @Test
    void libsvmAndParquetSources() throws IOException {
        SplittableRandom random = new SplittableRandom(2);
        StringBuilder libsvm = new StringBuilder();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            double a = random.nextDouble() * 2 - 1;
            double b = random.nextDouble() * 2 - 1;
            int label = a + b > 0 ? 1 : 0;
            libsvm.append(label).append(" 1:").append(a).append(" 3:").append(b).append('\n');
            rows.add(RowFactory.create(Vectors.dense(a, b), 2 * a - b));
        }
        Path svm = dir.resolve("data.svm");
        Files.writeString(svm, libsvm);
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(config("data.format", "libsvm", "data.path",
                svm.toString(), "model.type", "mlp-classifier", "model.hidden", "8", "train.stepSize", "0.05",
                "train.maxEpochs", "20")), spark);
        assertTrue((Double) test(metrics).get("accuracy") > 0.9, metrics.toString());

        Path parquet = dir.resolve("data.parquet");
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        spark.createDataFrame(rows, schema).write().parquet(parquet.toString());
        metrics = TrainJob.run(JobConfig.parse(config("data.format", "parquet", "data.path", parquet.toString(),
                "model.type", "mlp-regressor", "model.hidden", "", "train.stepSize", "0.05", "train.batchSize", "0",
                "train.maxEpochs", "200", "train.tol", "0", "output.overwrite", "true")), spark);
        assertTrue((Double) test(metrics).get("r2") > 0.99, metrics.toString());
    }

    /**
     * Wide sparse sources: a LIBSVM file read at the width {@code data.libsvm.numFeatures} gives (wider than its
     * largest index), kept sparse; the synthetic-sparse generator, which only a classifier may take.
     */
    @Test
    void wideLibsvmAndSyntheticSparseData() throws IOException {
        SplittableRandom random = new SplittableRandom(4);
        StringBuilder libsvm = new StringBuilder();
        for (int i = 0; i < 600; i++) {
            // 6 non-zeros among 50,000 features; the label is whether feature 7 or feature 40,001 is among them
            java.util.TreeSet<Integer> idx = new java.util.TreeSet<>();
            if (i % 2 == 0) {
                idx.add(random.nextBoolean() ? 7 : 40_001);
            }
            while (idx.size() < 6) {
                int f = random.nextInt(50_000);
                if (f != 7 && f != 40_001) {
                    idx.add(f);
                }
            }
            libsvm.append(i % 2 == 0 ? 1 : 0);
            for (int f : idx) {
                libsvm.append(' ').append(f + 1).append(':').append(1 + random.nextDouble()); // LIBSVM is 1-based
            }
            libsvm.append('\n');
        }
        Path svm = dir.resolve("wide.svm");
        Files.writeString(svm, libsvm);
        Path out = dir.resolve("wide");
        Properties p = config("data.format", "libsvm", "data.path", svm.toString(), "data.libsvm.numFeatures", "100000",
                "model.type", "mlp-classifier", "model.hidden", "4", "train.stepSize", "0.05", "train.batchSize", "200",
                "train.maxEpochs", "10");
        p.setProperty("output.dir", out.toString());
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(p), spark);
        assertTrue((Double) test(metrics).get("accuracy") > 0.9, metrics.toString());
        PipelineModel model = PipelineModel.load(out.resolve("model").toString());
        assertEquals(100_000, ((io.sparkprop.ml.MlpClassificationModel) model.stages()[0]).numFeatures());

        Properties synthetic = config("data.format", "synthetic-sparse", "data.synthetic.rows", "4000",
                "data.synthetic.features", "4096", "data.synthetic.nonZeros", "12", "model.type", "mlp-classifier",
                "model.hidden", "8", "train.stepSize", "0.01", "train.batchSize", "500", "train.maxEpochs", "3",
                "output.overwrite", "true");
        metrics = TrainJob.run(JobConfig.parse(synthetic), spark);
        assertTrue((Double) test(metrics).get("accuracy") > 0.6, metrics.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobConfig.parse(config(
                "data.format", "synthetic-sparse", "model.type", "ridge")));
        assertEquals("data.format synthetic-sparse makes two-class data: model.type must be mlp-classifier, found ridge",
                e.getMessage());
    }

    @Test
    void idxFoldersUseTheirTestFiles() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        Path folder = dir.resolve("idx");
        Files.createDirectories(folder);
        for (String prefix : new String[] {"train", "t10k"}) {
            int count = prefix.equals("train") ? 300 : 100;
            byte[] pixels = new byte[count * 4];
            byte[] labels = new byte[count];
            for (int i = 0; i < count; i++) {
                int label = random.nextInt(2);
                labels[i] = (byte) label;
                for (int p = 0; p < 4; p++) {
                    // class 1 is bright on the left, class 0 on the right
                    pixels[i * 4 + p] = (byte) ((p % 2 == label ? 200 : 20) + random.nextInt(40));
                }
            }
            TestData.writeIdx(folder.resolve(prefix + "-images-idx3-ubyte.gz"), 2051, new int[] {count, 2, 2}, pixels);
            TestData.writeIdx(folder.resolve(prefix + "-labels-idx1-ubyte.gz"), 2049, new int[] {count}, labels);
        }
        Map<String, Object> metrics = TrainJob.run(JobConfig.parse(config("data.format", "idx", "data.path",
                folder.toString(), "model.type", "mlp-classifier", "model.hidden", "4", "train.stepSize", "0.05",
                "train.maxEpochs", "20")), spark);
        assertEquals(100L, metrics.get("testExamples"));
        assertTrue((Double) test(metrics).get("accuracy") > 0.95, metrics.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainJob.run(JobConfig.parse(config("data.format", "idx", "data.path", dir.toString(),
                        "model.type", "mlp-classifier", "output.overwrite", "true")), spark));
        assertEquals("data file " + dir.resolve("train-images-idx3-ubyte.gz") + " does not exist",
                e.getMessage().replace("file:", ""));
    }

    /** The rows of {@code df} as sorted strings: a multiset to compare. */
    private static java.util.List<String> rowsOf(org.apache.spark.sql.Dataset<Row> df) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (Row r : df.collectAsList()) {
            out.add(r.toString());
        }
        java.util.Collections.sort(out);
        return out;
    }

    @Test
    void theOnePassSplitPicksTheRowsOfRandomSplitAndRand() {
        java.util.List<Row> rows = new java.util.ArrayList<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int i = 0; i < 3000; i++) {
            // duplicates and ties on the label, in an order the sort must undo
            rows.add(RowFactory.create(Vectors.dense(r.nextInt(40), i % 7 == 0 ? 1.5 : r.nextGaussian()),
                    (double) r.nextInt(3)));
        }
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label",
                DataTypes.DoubleType);
        org.apache.spark.sql.Dataset<Row> all = spark.createDataFrame(rows, schema).repartition(3).cache();
        for (double[] split : new double[][] {{0.2, 0.1}, {0.3, 0.25}, {0.0, 0.1}}) {
            long seed = 42 + (long) (100 * split[0]);
            org.apache.spark.sql.Dataset<Row>[] spark2 = all.randomSplit(new double[] {1 - split[0], split[0]}, seed);
            org.apache.spark.sql.Dataset<Row> marked = TrainJob.markSplit(spark, all, split[0], split[1], seed).cache();
            assertEquals(rowsOf(spark2[1]), rowsOf(marked.filter("sparkprop_isTest").select("features", "label")),
                    "test rows at " + java.util.Arrays.toString(split));
            org.apache.spark.sql.Dataset<Row> trainWithValidation = spark2[0].withColumn("isValidation",
                    org.apache.spark.sql.functions.rand(seed + 1).lt(split[1]));
            assertEquals(rowsOf(trainWithValidation), rowsOf(marked.filter("not sparkprop_isTest")
                    .select("features", "label", "isValidation")), "training and validation rows");
            marked.unpersist();
        }
        all.unpersist();
    }
}
