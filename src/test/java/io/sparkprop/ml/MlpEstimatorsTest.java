package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LocalSpark.class)
class MlpEstimatorsTest {
    private static SparkSession spark;
    private static Dataset<Row> raw;

    @BeforeAll
    static void start() {
        StructType schema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
                .add("label", DataTypes.DoubleType).add("target", DataTypes.DoubleType);
        SplittableRandom random = new SplittableRandom(3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            double a = 4 * random.nextDouble() - 2;
            double b = 20 * random.nextDouble() - 10;
            // three classes separated by lines; a smooth regression target
            double label = a + b / 10 > 0.5 ? 2 : a - b / 10 < -0.5 ? 0 : 1;
            rows.add(RowFactory.create(a, b, label, Math.sin(a) + 0.05 * b));
        }
        raw = spark.createDataFrame(rows, schema).repartition(2).cache();
    }

    private static PipelineStage[] features(PipelineStage model) {
        return new PipelineStage[] {
            new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("raw"),
            new StandardScaler().setInputCol("raw").setOutputCol("features"), model};
    }

    @Test
    void classifierInAPipelineFitsAndPredictsProbabilities() {
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {16}).setActivation("tanh")
                .setStepSize(0.02).setBatchSize(64).setMaxEpochs(30).setSeed(5);
        PipelineModel model = new Pipeline().setStages(features(mlp)).fit(raw);
        Dataset<Row> out = model.transform(raw);
        double accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(out);
        assertTrue(accuracy > 0.9, "training accuracy " + accuracy);
        for (Row r : out.select("rawPrediction", "probability", "prediction").collectAsList()) {
            double[] p = ((Vector) r.get(1)).toArray();
            assertEquals(1.0, Arrays.stream(p).sum(), 1e-12);
            int argmax = 0;
            for (int k = 1; k < p.length; k++) {
                argmax = p[k] > p[argmax] ? k : argmax;
            }
            assertEquals(argmax, r.getDouble(2));
            assertEquals(3, ((Vector) r.get(0)).size());
        }
        MlpClassificationModel fitted = (MlpClassificationModel) model.stages()[2];
        assertEquals(3, fitted.numClasses());
        assertEquals(2, fitted.numFeatures());
        assertTrue(fitted.hasSummary());
        assertEquals(30, fitted.summary().totalEpochs());
        assertEquals(mlp.uid(), fitted.uid());
        assertEquals(64, fitted.getBatchSize(), "the estimator's params are copied to the model");
    }

    /** {@code numShards} packs the training data into that many cached partitions (coalesced without a shuffle). */
    @Test
    void numShardsSetsTheCachedPartitions() {
        // 600 rows in 2 partitions of 300, full batch in blocks of 200: 2 + 2 blocks on 2 shards, 3 on one
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {4}).setBatchSize(0).setBlockSize(200)
                .setMaxEpochs(1).setSeed(5);
        PipelineModel two = new Pipeline().setStages(features(mlp)).fit(raw);
        PipelineModel one = new Pipeline().setStages(features(mlp.copy(new org.apache.spark.ml.param.ParamMap())
                .setNumShards(1))).fit(raw);
        MlpClassificationModel a = (MlpClassificationModel) two.stages()[2];
        MlpClassificationModel b = (MlpClassificationModel) one.stages()[2];
        assertEquals(0, a.getNumShards());
        assertEquals(1, b.getNumShards(), "the estimator's params are copied to the model");
        assertEquals(4, a.summary().iterations().get(0).blocks());
        assertEquals(3, b.summary().iterations().get(0).blocks());
        assertEquals(600, b.summary().iterations().get(0).examples());
        assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setNumShards(-1));
    }

    @Test
    void regressorInAPipelineFits() {
        MlpRegressor mlp = new MlpRegressor().setLabelCol("target").setHiddenLayers(new int[] {16})
                .setActivation("tanh").setStepSize(0.02).setBatchSize(64).setMaxEpochs(40).setSeed(5);
        PipelineModel model = new Pipeline().setStages(features(mlp)).fit(raw);
        double mse = model.transform(raw).selectExpr("avg((prediction - target) * (prediction - target))")
                .first().getDouble(0);
        double variance = raw.selectExpr("var_pop(target)").first().getDouble(0);
        assertTrue(mse < 0.05 * variance, "mse " + mse + " vs variance " + variance);
    }

    @Test
    void crossValidatorSearchesRegParamAndHiddenLayers() {
        MlpClassifier mlp = new MlpClassifier().setStepSize(0.02).setBatchSize(128).setMaxEpochs(5).setSeed(1);
        ParamMap[] grid = new ParamGridBuilder()
                .addGrid(mlp.regParam(), new double[] {0.0, 0.1})
                .addGrid(mlp.hiddenLayers(), scala.jdk.javaapi.CollectionConverters.asScala(
                        Arrays.asList(new int[] {4}, new int[] {8, 4})))
                .build();
        Dataset<Row> data = new Pipeline().setStages(Arrays.copyOf(features(mlp), 2)).fit(raw).transform(raw);
        CrossValidatorModel cv = new CrossValidator().setEstimator(mlp).setEstimatorParamMaps(grid).setNumFolds(2)
                .setEvaluator(new MulticlassClassificationEvaluator().setMetricName("accuracy")).setSeed(3).fit(data);
        assertEquals(4, cv.avgMetrics().length);
        assertTrue(cv.bestModel() instanceof MlpClassificationModel);
    }

    /** Rows marked for validation never reach a gradient: training with them equals training without them. */
    @Test
    void validationRowsAreHeldOutAndEarlyStoppingKeepsTheBestEpoch() {
        Dataset<Row> prepared = new Pipeline().setStages(Arrays.copyOf(features(new MlpClassifier()), 2)).fit(raw)
                .transform(raw).withColumn("held", org.apache.spark.sql.functions.expr("a > 1.2"));
        // poison the held-out rows' labels: if they were trained on, the weights would differ
        Dataset<Row> poisoned = prepared.withColumn("label",
                org.apache.spark.sql.functions.expr("case when held then 2 - label else label end"));
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {8}).setStepSize(0.05).setBatchSize(0)
                .setMaxEpochs(12).setTol(0).setSeed(4);
        MlpClassificationModel withValidation = mlp.copy(ParamMap.empty()).setValidationIndicatorCol("held")
                .fit(poisoned);
        MlpClassificationModel without = mlp.fit(poisoned.filter("not held"));
        assertArrayEquals(without.parameters().toFlat(), withValidation.parameters().toFlat(), 0.0);
        MlpTrainingSummary summary = withValidation.summary();
        assertEquals(12, summary.totalEpochs());
        assertTrue(Arrays.stream(summary.validationLossHistory()).allMatch(Double::isFinite));
        assertTrue(summary.validationAccuracyHistory()[11] >= 0 && summary.validationAccuracyHistory()[11] <= 1);

        // the poisoned validation loss rises as training fits the clean rows: early stopping keeps the best
        MlpClassificationModel early = mlp.copy(ParamMap.empty()).setValidationIndicatorCol("held").setPatience(2)
                .setMaxEpochs(40).fit(poisoned);
        MlpTrainingSummary s = early.summary();
        double[] validation = s.validationLossHistory();
        int best = s.bestEpoch();
        for (int e = 0; e < validation.length; e++) {
            assertTrue(validation[best] <= validation[e], "epoch " + best + " has the lowest validation loss");
        }
        assertTrue(s.totalEpochs() <= best + 1 + 2, "stopped within patience epochs of the best");
        if (s.totalEpochs() < 40) {
            assertEquals(best + 1 + 2, s.totalEpochs());
        }
        // the model's weights are the best epoch's: its validation loss is the recorded best
        MlpClassificationModel rerun = mlp.copy(ParamMap.empty()).setValidationIndicatorCol("held")
                .setMaxEpochs(best + 1).fit(poisoned);
        assertArrayEquals(rerun.parameters().toFlat(), early.parameters().toFlat(), 0.0);
    }

    @Test
    void aWarmStartContinuesFromTheInitialModel() {
        Dataset<Row> prepared = new Pipeline().setStages(Arrays.copyOf(features(new MlpClassifier()), 2)).fit(raw)
                .transform(raw);
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {8}).setStepSize(0.05).setBatchSize(0)
                .setMaxEpochs(20).setTol(0).setSeed(4);
        MlpClassificationModel first = mlp.fit(prepared);
        double[] firstLosses = first.summary().lossHistory();
        MlpClassificationModel second = mlp.copy(ParamMap.empty()).setInitialModel(first).setMaxEpochs(5)
                .fit(prepared);
        double startAgain = second.summary().lossHistory()[0];
        assertTrue(startAgain < firstLosses[0] * 0.8, "a warm start begins near the first fit's end: " + startAgain
                + " vs " + firstLosses[0]);
        // exactly where an uninterrupted 21-epoch fit is at its 21st iteration (same seed, same shards)
        double[] longer = mlp.copy(ParamMap.empty()).setMaxEpochs(21).fit(prepared).summary().lossHistory();
        assertEquals(longer[20], startAgain, 0.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> mlp.copy(ParamMap.empty()).setHiddenLayers(new int[] {3}).setInitialModel(first).fit(prepared));
        assertTrue(e.getMessage().startsWith("the initial model's network is 2-8(relu)-3(softmax)"), e.getMessage());
    }

    @Test
    void everyParamIsExplainedWithItsDefault() {
        MlpClassifier mlp = new MlpClassifier();
        String explained = mlp.explainParams();
        for (String name : new String[] {"featuresCol", "labelCol", "predictionCol", "weightCol", "hiddenLayers",
            "activation", "optimizer", "stepSize", "momentum", "batchSize", "maxEpochs", "tol", "regParam",
            "blockSize", "aggregationDepth", "seed", "validationIndicatorCol", "patience"}) {
            assertTrue(mlp.hasParam(name), name);
            assertTrue(explained.contains(name + ": "), name);
            assertTrue(mlp.isDefined(mlp.getParam(name)), name + " has a default");
        }
        assertTrue(explained.contains("hiddenLayers: widths of the hidden layers"), explained);
        assertTrue(explained.contains("(default: [64])"), explained);
        assertArrayEquals(new int[] {64}, mlp.getHiddenLayers());
        MlpClassifier copy = mlp.setBatchSize(32).copy(ParamMap.empty());
        assertEquals(32, copy.getBatchSize());
        assertEquals(mlp.uid(), copy.uid());
    }

    @Test
    void invalidParamsAndColumnsAreRejectedWithTheirNames() {
        MlpClassifier mlp = new MlpClassifier();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mlp.setStepSize(0));
        assertTrue(e.getMessage().contains("stepSize given invalid value 0.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> mlp.setActivation("gelu"));
        assertTrue(e.getMessage().contains("activation given invalid value gelu"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> mlp.setHiddenLayers(new int[] {8, 0}));
        assertTrue(e.getMessage().contains("hiddenLayers given invalid value"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> mlp.fit(raw));
        assertEquals("features column 'features' does not exist; available columns: a, b, label, target", e.getMessage());
        Dataset<Row> withFeatures = new VectorAssembler().setInputCols(new String[] {"a", "b"})
                .setOutputCol("features").transform(raw);
        e = assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setFeaturesCol("a").fit(withFeatures));
        assertEquals("features column 'a' must be of type vector (use VectorAssembler), found double", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setPredictionCol("label").fit(withFeatures));
        assertEquals("output column 'label' already exists; choose another name with its setter", e.getMessage());

        Dataset<Row> negative = withFeatures.selectExpr("features", "label - 1 as label");
        e = assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setMaxEpochs(1).fit(negative));
        assertTrue(e.getMessage().startsWith("expected a class index in 0..1, found -1.0 in row "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setNumClasses(2).setMaxEpochs(1).fit(withFeatures));
        assertTrue(e.getMessage().startsWith("expected a class index in 0..1, found 2.0 in row "), e.getMessage());
        assertEquals(4, new MlpClassifier().setNumClasses(4).setMaxEpochs(1).fit(withFeatures).numClasses());
        Dataset<Row> nan = withFeatures.selectExpr("features", "case when a > 1.5 then double('NaN') else label end as label");
        e = assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setMaxEpochs(1).fit(nan));
        assertEquals("label column 'label' contains NaN; labels must be class indices 0..k-1", e.getMessage());
        Dataset<Row> fractional = withFeatures.selectExpr("features", "label + 0.5 as label");
        e = assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setMaxEpochs(1).fit(fractional));
        // whichever partition fails first: every label is now k + 0.5
        assertTrue(e.getMessage().matches("expected a class index in 0\\.\\.2, found \\d\\.5 in row \\d+ of partition \\d"),
                e.getMessage());
    }

    @Test
    void aModelRejectsFeatureVectorsOfAnotherSize() {
        Dataset<Row> two = new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("features")
                .transform(raw);
        MlpRegressionModel model = new MlpRegressor().setLabelCol("target").setMaxEpochs(1).fit(two);
        Dataset<Row> three = new VectorAssembler().setInputCols(new String[] {"a", "b", "target"})
                .setOutputCol("features").transform(raw);
        Exception e = assertThrows(Exception.class, () -> model.transform(three).collect());
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
            cause = cause.getCause();
        }
        assertEquals("expected 2 features, found 3; the model was trained on 2", cause.getMessage());
        MlpRegressionModel copy = model.copy(ParamMap.empty());
        assertFalse(copy.hasSummary());
        assertEquals(model.transform(two).select("prediction").collectAsList(),
                copy.transform(two).select("prediction").collectAsList());
        Param<String> p = copy.predictionCol();
        assertEquals(copy.uid(), p.parent());
    }
}
