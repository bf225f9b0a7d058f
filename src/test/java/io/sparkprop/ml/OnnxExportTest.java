package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code exportOnnx} checked by running the file: ONNX Runtime's outputs on the same rows equal {@code transform}'s,
 * to 1e-12 (relative) in float64, and in float32 the probabilities to 1e-6 and the logits to 4e-6 (relative), for a
 * classifier, a regressor of two outputs and ridge, on features of unequal scales.
 */
@ExtendWith(LocalSpark.class)
class OnnxExportTest {
    private static SparkSession spark;
    private static Dataset<Row> data;
    private static double[][] features;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.DoubleType).add("targets", SQLDataTypes.VectorType());
        SplittableRandom random = new SplittableRandom(11);
        List<Row> rows = new ArrayList<>();
        List<double[]> xs = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            double a = 2 * random.nextDouble() - 1;
            double b = 100 * random.nextDouble();
            double c = 1000 + random.nextDouble(); // an offset
            double label = a + b / 100 > 0.9 ? 2 : a - b / 100 < -0.6 ? 0 : 1;
            double[] x = {a, b / 50, c - 1000.5};
            xs.add(x);
            rows.add(RowFactory.create(Vectors.dense(x), label, Vectors.dense(Math.sin(a) + 0.01 * b, a * (c - 1000))));
        }
        data = spark.createDataFrame(rows, schema).repartition(2).cache();
        features = xs.toArray(new double[0][]);
    }

    /** The rows of {@code column} (vectors or doubles) of {@code transform}'s output, in the order of {@link #data}. */
    private static double[][] column(Dataset<Row> out, String column) {
        List<Row> rows = out.select("features", column).collectAsList();
        java.util.Map<String, double[]> byFeatures = new java.util.HashMap<>();
        for (Row r : rows) {
            Object v = r.get(1);
            byFeatures.put(((Vector) r.get(0)).toString(), v instanceof Vector ? ((Vector) v).toArray()
                    : new double[] {(Double) v});
        }
        double[][] result = new double[features.length][];
        for (int i = 0; i < features.length; i++) {
            result[i] = byFeatures.get(Vectors.dense(features[i]).toString());
        }
        return result;
    }

    private static Map<String, Object> run(String path, boolean float32) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(path, new OrtSession.SessionOptions())) {
            Object input = features;
            if (float32) {
                float[][] f = new float[features.length][];
                for (int i = 0; i < f.length; i++) {
                    f[i] = new float[features[i].length];
                    for (int j = 0; j < f[i].length; j++) {
                        f[i][j] = (float) features[i][j];
                    }
                }
                input = f;
            }
            try (OnnxTensor tensor = OnnxTensor.createTensor(env, input);
                 OrtSession.Result result = session.run(Map.of("features", tensor))) {
                Map<String, Object> outputs = new java.util.HashMap<>();
                for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : result) {
                    outputs.put(e.getKey(), e.getValue().getValue());
                }
                return outputs;
            }
        }
    }

    private static double[][] widen(Object values) {
        if (values instanceof double[][]) {
            return (double[][]) values;
        }
        float[][] f = (float[][]) values;
        double[][] d = new double[f.length][];
        for (int i = 0; i < f.length; i++) {
            d[i] = new double[f[i].length];
            for (int j = 0; j < f[i].length; j++) {
                d[i][j] = f[i][j];
            }
        }
        return d;
    }

    private static void assertClose(double[][] expected, Object actual, double tolerance, String what) {
        double[][] a = widen(actual);
        assertEquals(expected.length, a.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, a[i].length, what);
            for (int k = 0; k < expected[i].length; k++) {
                assertEquals(expected[i][k], a[i][k], tolerance * Math.max(1, Math.abs(expected[i][k])),
                        what + " row " + i + " output " + k);
            }
        }
    }

    /**
     * @param rawTolerance         of the logits, relative
     * @param probabilityTolerance of the probabilities
     */
    private void checkClassifier(String precision, double rawTolerance, double probabilityTolerance)
            throws OrtException {
        MlpClassificationModel model = new MlpClassifier().setHiddenLayers(new int[] {12, 8}).setActivation("tanh")
                .setPrecision(precision).setStepSize(0.02).setBatchSize(50).setMaxEpochs(20).setSeed(3).fit(data);
        String path = dir.resolve("classifier-" + precision + ".onnx").toString();
        model.exportOnnx(path);
        Dataset<Row> out = model.transform(data);
        Map<String, Object> onnx = run(path, precision.equals("float32"));
        assertClose(column(out, "rawPrediction"), onnx.get("rawPrediction"), rawTolerance, "rawPrediction");
        assertClose(column(out, "probability"), onnx.get("probability"), probabilityTolerance, "probability");
        double[][] prediction = column(out, "prediction");
        long[] classes = (long[]) onnx.get("prediction");
        int differ = 0;
        for (int i = 0; i < classes.length; i++) {
            differ += classes[i] == (long) prediction[i][0] ? 0 : 1;
        }
        // float32 may flip a class whose two largest probabilities differ by less than its rounding
        assertTrue(differ == 0 || precision.equals("float32") && differ <= 1, differ + " predictions differ");
    }

    @Test
    void aFloat64ClassifierRunsInOnnxRuntimeAsInSpark() throws OrtException {
        checkClassifier("float64", 1e-12, 1e-12);
    }

    @Test
    void aFloat32ClassifierIsExportedInFloat32() throws Exception {
        // transform scores with the double master weights; the float32 graph rounds weights and features (2^-24
        // relative each) and sums in float: its logits land within a few float roundings of transform's, and the
        // probabilities within 1e-6
        checkClassifier("float32", 4e-6, 1e-6);
        String path = dir.resolve("classifier-float32.onnx").toString();
        ai.onnx.proto.OnnxMl.ModelProto m = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(Files.readAllBytes(Path.of(path)));
        assertEquals(ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE,
                m.getGraph().getInput(0).getType().getTensorType().getElemType());
        assertTrue(m.getGraph().getInitializerList().stream()
                .allMatch(t -> t.getDataType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE));
    }

    @Test
    void aRegressorOfTwoOutputsRunsInOnnxRuntimeAsInSpark() throws OrtException {
        MlpRegressionModel model = new MlpRegressor().setHiddenLayers(new int[] {10}).setActivation("sigmoid")
                .setLabelCol("targets").setStepSize(0.01).setBatchSize(40).setMaxEpochs(10).setSeed(4).fit(data);
        String path = dir.resolve("regressor.onnx").toString();
        model.exportOnnx(path);
        assertPredictionAsTransform(model.transform(data), path);
    }

    /** The file's {@code prediction} on the rows against {@code transform}'s, in float64. */
    private static void assertPredictionAsTransform(Dataset<Row> transformed, String path) throws OrtException {
        assertClose(column(transformed, "prediction"), run(path, false).get("prediction"), 1e-12, "prediction");
    }

    @Test
    void ridgeRunsInOnnxRuntimeAsInSpark() throws OrtException {
        RidgeRegressionModel model = new RidgeRegression().setRegParam(0.1).setLabelCol("label").fit(data);
        String path = dir.resolve("ridge.onnx").toString();
        model.exportOnnx(path);
        assertPredictionAsTransform(model.transform(data), path);
    }

    /**
     * Ridge on hostile columns: a timestamp-like feature offset by 1.7e9 beside unit-scale ones, where the prediction
     * is a small difference of large products; the file agrees with {@code transform} to 1e-12 of the products'
     * magnitude {@code Σ|w_j x_j| + |b|}, the most either sum can be held to.
     */
    @Test
    void ridgeOnAnOffsetColumnRunsAsInSpark() throws OrtException {
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        SplittableRandom random = new SplittableRandom(5);
        List<Row> rows = new ArrayList<>();
        double[][] x = new double[200][];
        for (int i = 0; i < x.length; i++) {
            double t = 1.7e9 + 3600 * random.nextDouble();
            double a = random.nextGaussian();
            x[i] = new double[] {t, a, 1e-3 * random.nextDouble()};
            rows.add(RowFactory.create(Vectors.dense(x[i]), 2e-3 * (t - 1.7e9) + a + random.nextGaussian() * 0.1));
        }
        Dataset<Row> offset = spark.createDataFrame(rows, schema).repartition(2);
        RidgeRegressionModel model = new RidgeRegression().setRegParam(1e-3).fit(offset);
        String path = dir.resolve("ridge-offset.onnx").toString();
        model.exportOnnx(path);
        Map<String, Double> byRow = new java.util.HashMap<>();
        for (Row r : model.transform(offset).select("features", "prediction").collectAsList()) {
            byRow.put(r.get(0).toString(), r.getDouble(1));
        }
        double[] w = model.coefficients().toArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(path, new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, x);
             OrtSession.Result result = session.run(Map.of("features", input))) {
            double[][] onnx = (double[][]) result.get("prediction").get().getValue();
            for (int i = 0; i < x.length; i++) {
                double magnitude = Math.abs(model.intercept());
                for (int j = 0; j < w.length; j++) {
                    magnitude += Math.abs(w[j] * x[i][j]);
                }
                assertEquals(byRow.get(Vectors.dense(x[i]).toString()), onnx[i][0], 1e-12 * magnitude, "row " + i);
            }
        }
    }

    @Test
    void aPathThatCannotBeWrittenIsReportedWithIt() throws Exception {
        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        RidgeRegressionModel model = new RidgeRegression().setLabelCol("label").fit(data);
        String path = file.resolve("model.onnx").toString();
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> model.exportOnnx(path));
        assertTrue(e.getMessage().startsWith("could not write the ONNX model to " + path), e.getMessage());
    }

    @Test
    void theGraphNamesItsInputAndOutputs() throws Exception {
        MlpClassificationModel model = new MlpClassifier().setHiddenLayers(new int[] {4}).setMaxEpochs(1).fit(data);
        String path = dir.resolve("names.onnx").toString();
        model.exportOnnx(path);
        ai.onnx.proto.OnnxMl.GraphProto g = ai.onnx.proto.OnnxMl.ModelProto
                .parseFrom(Files.readAllBytes(Path.of(path))).getGraph();
        assertEquals("features", g.getInput(0).getName());
        assertArrayEquals(new String[] {"rawPrediction", "probability", "prediction"},
                g.getOutputList().stream().map(ai.onnx.proto.OnnxMl.ValueInfoProto::getName).toArray(String[]::new));
    }

    /** A pipeline's standard scaler (centring and scaling) is part of the graph: the file takes the raw features. */
    @Test
    void aPipelineWithAStandardScalerRunsOnTheRawFeatures() throws OrtException {
        org.apache.spark.ml.PipelineModel pipeline = new org.apache.spark.ml.Pipeline().setStages(
                new org.apache.spark.ml.PipelineStage[] {
                    new org.apache.spark.ml.feature.StandardScaler().setInputCol("features").setOutputCol("scaled")
                            .setWithMean(true).setWithStd(true),
                    new MlpClassifier().setFeaturesCol("scaled").setHiddenLayers(new int[] {6}).setMaxEpochs(5)
                            .setSeed(2)}).fit(data);
        String path = dir.resolve("pipeline.onnx").toString();
        OnnxPipeline.export(pipeline, path);
        Dataset<Row> out = pipeline.transform(data);
        Map<String, Object> onnx = run(path, false);
        assertClose(column(out, "rawPrediction"), onnx.get("rawPrediction"), 1e-12, "rawPrediction");
        assertClose(column(out, "probability"), onnx.get("probability"), 1e-12, "probability");
    }

    /** A stage with no ONNX form here is refused by name, with what to do instead. */
    @Test
    void aPipelineWithOtherStagesIsRefusedByName() {
        org.apache.spark.ml.PipelineModel pipeline = new org.apache.spark.ml.Pipeline().setStages(
                new org.apache.spark.ml.PipelineStage[] {
                    new org.apache.spark.ml.feature.VectorAssembler().setInputCols(new String[] {"features"})
                            .setOutputCol("assembled"),
                    new RidgeRegression().setFeaturesCol("assembled").setLabelCol("label")}).fit(data);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxPipeline.export(pipeline, dir.resolve("refused.onnx").toString()));
        assertEquals("no ONNX form for the pipeline's stages [VectorAssembler] (only one StandardScalerModel before a "
                + "sparkprop model is exported): export the model alone with exportOnnx and prepare its features "
                + "outside", e.getMessage());
    }
}
