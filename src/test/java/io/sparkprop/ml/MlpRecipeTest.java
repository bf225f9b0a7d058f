package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training recipe through the estimators: its params are set, saved and loaded with the estimator and its
 * model, and {@code classWeights = balanced} does what it is for — on a 1 : 50 imbalanced problem, it raises the
 * minority class's recall.
 */
@ExtendWith(LocalSpark.class)
class MlpRecipeTest {
    private static final Logger LOG = LoggerFactory.getLogger(MlpRecipeTest.class);
    private static SparkSession spark;

    @TempDir
    Path dir;

    /**
     * Two overlapping Gaussian classes in 2-D, {@code N(0, I)} and {@code N((1.5, 1.5), I)}, {@code minority} of
     * class 1 for every 50 of class 0 — the Bayes rule at equal costs labels almost every point 0.
     */
    static Dataset<Row> imbalanced(int minority, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 51 * minority; i++) {
            boolean positive = i % 51 == 0;
            double shift = positive ? 1.5 : 0.0;
            rows.add(RowFactory.create(Vectors.dense(shift + gaussian(random), shift + gaussian(random)),
                    positive ? 1.0 : 0.0));
        }
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.DoubleType);
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    private static double gaussian(SplittableRandom random) {
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** Recall of class 1: the share of its rows predicted 1. */
    private static double minorityRecall(Dataset<Row> scored) {
        long positives = scored.filter("label = 1.0").count();
        long found = scored.filter("label = 1.0 AND prediction = 1.0").count();
        return found / (double) positives;
    }

    @Test
    void balancedClassWeightsRaiseTheMinorityRecallOfAOneToFiftyProblem() {
        Dataset<Row> train = imbalanced(400, 1).cache();
        Dataset<Row> test = imbalanced(400, 2).cache();
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {16}).setStepSize(0.01).setMaxEpochs(8);
        double plain = minorityRecall(mlp.fit(train).transform(test));
        MlpClassificationModel balanced = mlp.copy(new org.apache.spark.ml.param.ParamMap())
                .setClassWeights("balanced").fit(train);
        double recall = minorityRecall(balanced.transform(test));
        LOG.info(String.format(Locale.ROOT, "1:50 problem (20,400 training rows), minority recall: none %.4f, "
                + "balanced %.4f", plain, recall));
        assertTrue(plain < 0.3, "without class weights the minority is mostly missed: recall " + plain);
        assertTrue(recall > 0.6 && recall > plain + 0.3, "balanced recall " + recall + " vs " + plain);
        assertEquals("balanced", balanced.getClassWeights());
        train.unpersist();
        test.unpersist();
    }

    @Test
    void theRecipesParamsAreSavedAndLoadedWithEstimatorAndModel() throws IOException {
        Dataset<Row> data = imbalanced(20, 3);
        MlpClassifier mlp = new MlpClassifier().setHiddenLayers(new int[] {6}).setMaxEpochs(2)
                .setStepSchedule("cosine").setWarmupSteps(3).setStepFloor(0.05).setDropout(0.2).setClipNorm(5)
                .setClassWeights("1, 20").setLabelSmoothing(0.05);
        String path = dir.resolve("recipe").toString();
        mlp.save(path);
        MlpClassifier loaded = MlpClassifier.load(path);
        assertEquals(mlp.explainParams(), loaded.explainParams());
        assertEquals(mlp.settings(), loaded.settings());
        assertEquals("cosine", loaded.getStepSchedule());
        assertEquals(3, loaded.getWarmupSteps());
        assertEquals(0.2, loaded.getDropout());
        assertEquals("1, 20", loaded.getClassWeights());
        MlpClassificationModel model = loaded.fit(data);
        model.save(path + "-model");
        MlpClassificationModel back = MlpClassificationModel.load(path + "-model");
        assertEquals(0.05, back.getLabelSmoothing());
        assertEquals(5.0, back.getClipNorm());
        assertEquals(model.explainParams(), back.explainParams());
        assertEquals("cosine", back.getStepSchedule());
        assertEquals(model.transform(data).select("probability").collectAsList(),
                back.transform(data).select("probability").collectAsList());
        // step schedule and warm-up are the regressor's params too; class weights and smoothing it refuses
        MlpRegressor regressor = new MlpRegressor().setMaxEpochs(1).setStepSchedule("step").setStepDropEpochs(1)
                .setStepDropFactor(0.5).setDropout(0.1);
        assertEquals(1, regressor.fit(data).summary().epochs().size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MlpRegressor().setMaxEpochs(1).setLabelSmoothing(0.1).fit(data));
        assertTrue(e.getMessage().startsWith("labelSmoothing 0.1 applies to classification networks"), e.getMessage());
        // bad values are refused when set, with the valid forms named
        assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setDropout(1.0));
        assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setLabelSmoothing(-0.1));
        assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setClipNorm(-1));
        IllegalArgumentException weights = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setClassWeights("1,-2"));
        assertEquals("classWeights: the weight of class 1 must be finite and >= 0, found -2.0", weights.getMessage());
        IllegalArgumentException schedule = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setStepSchedule("exponential"));
        assertEquals("unknown stepSchedule 'exponential', expected one of constant, inverse, step, cosine",
                schedule.getMessage());
    }
}
