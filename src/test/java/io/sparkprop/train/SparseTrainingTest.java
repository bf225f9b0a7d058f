package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.ml.MlpClassificationModel;
import io.sparkprop.ml.MlpClassifier;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
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

/**
 * Training on sparse rows end to end on {@code local[2]}: the same data packed sparse and dense train to the
 * same parameters (only the first layer's sums are ordered differently) — synchronously with plain SGD, whose
 * lazy first layer is the dense rule, with local steps and in float32 — in a fraction of the cached bytes; the
 * touched-rows exchange and the lazy first layer give the same bits at every aggregation depth and on resuming;
 * the estimator fits, scores and saves sparse data with its {@code sparseThreshold}.
 */
@ExtendWith(LocalSpark.class)
class SparseTrainingTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final int FEATURES = 3000;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(FEATURES).dense(8, Activation.RELU)
            .dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    /** Rows of 12 non-zeros in 3,000 features, weights on some, three classes from a sparse teacher. */
    static List<Example> rows(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            java.util.TreeMap<Integer, Double> entries = new java.util.TreeMap<>();
            while (entries.size() < 12) {
                entries.put(random.nextInt(FEATURES), 1 + random.nextDouble());
            }
            double score = 0;
            for (java.util.Map.Entry<Integer, Double> e : entries.entrySet()) {
                score += (e.getKey() % 7 - 3) * e.getValue();
            }
            Vector v = Vectors.sparse(FEATURES, entries.keySet().stream().mapToInt(Integer::intValue).toArray(),
                    entries.values().stream().mapToDouble(Double::doubleValue).toArray());
            double label = score > 4 ? 2 : score < -4 ? 0 : 1;
            rows.add(r % 9 == 0 ? Example.weighted(2.0, v, label) : Example.of(v, label));
        }
        return rows;
    }

    private static Trainer trainer(double threshold) {
        return new Trainer(SPEC).setSettings(MlpSettings.builder().optimizer("adam").stepSize(0.01).batchSize(200)
                .tol(0).seed(5).maxEpochs(3).sparseThreshold(threshold).build());
    }

    /**
     * Plain SGD without ridge term: the lazy first layer of sparse shards is the dense rule exactly (an untouched
     * row's gradient is zero), so only the order of the first layer's sums differs. (Adam and momentum move rows
     * that a step does not touch in the dense rule and not in the lazy one: LazyFirstLayerTest checks those.)
     */
    @Test
    void sparseAndDenseShardsTrainToTheSameParametersInAFractionOfTheBytes() {
        JavaRDD<Example> data = sc.parallelize(rows(1200, 1), 2);
        TrainingResult sparse = sgdTrainer(1.0).fit(data);
        TrainingResult dense = sgdTrainer(0.0).fit(data);
        double diff = TestData.maxRelativeDifference(dense.parameters().values(), sparse.parameters().values());
        assertTrue(diff <= 1e-9, "parameters differ by " + diff + " relative");
        assertEquals(dense.history().epochs().get(2).loss(), sparse.history().epochs().get(2).loss(),
                1e-10 * dense.history().epochs().get(2).loss());
        // 12 non-zeros of 12 bytes, 4 bytes of column pointer, 3 targets and a weight a row (9 % weighted)
        assertTrue(sparse.payloadBytes() < dense.payloadBytes() / 50, sparse.payloadBytes() + " vs "
                + dense.payloadBytes());
        assertTrue(sparse.cachedBytes() < 1.3 * sparse.payloadBytes(), "cached " + sparse.cachedBytes()
                + " against values " + sparse.payloadBytes());
    }

    /**
     * Float32 keeps the first layer as rows too (the kernel reads them rounded to float): plain SGD on sparse shards
     * reaches the dense float32 rule's parameters but for the first layer's sums (in double against a float GEMM).
     */
    @Test
    void float32SparseShardsTrainWithTheLazyFirstLayerAsDenseOnes() {
        JavaRDD<Example> data = sc.parallelize(rows(1200, 4), 2);
        TrainingResult sparse = sgdTrainer(1.0).setPrecision(Precision.FLOAT32).fit(data);
        TrainingResult dense = sgdTrainer(0.0).setPrecision(Precision.FLOAT32).fit(data);
        double diff = TestData.maxRelativeDifference(dense.parameters().values(), sparse.parameters().values());
        assertTrue(diff <= 1e-4, "parameters differ by " + diff + " relative");
        assertEquals(3, sparse.history().epochs().size());
    }

    private static Trainer sgdTrainer(double threshold) {
        return new Trainer(SPEC).setSettings(MlpSettings.builder().optimizer("sgd").stepSize(0.2).batchSize(200)
                .tol(0).seed(5).maxEpochs(3).sparseThreshold(threshold).build());
    }

    @Test
    void localStepsAndFloat32TrainSparseShardsAsDenseOnes() {
        JavaRDD<Example> data = sc.parallelize(rows(1200, 2), 2);
        for (Precision precision : Precision.values()) {
            TrainingResult sparse = trainer(1.0).setLocalSteps(3).setPrecision(precision).fit(data);
            TrainingResult dense = trainer(0.0).setLocalSteps(3).setPrecision(precision).fit(data);
            double diff = TestData.maxRelativeDifference(dense.parameters().values(), sparse.parameters().values());
            // float32: the dense first layer's GEMM rounds to float, the sparse one sums in double
            double tolerance = precision == Precision.FLOAT64 ? 1e-9 : 1e-4;
            assertTrue(diff <= tolerance, precision + ": parameters differ by " + diff + " relative");
        }
    }

    @Test
    void theTouchedRowsExchangeGivesTheSameBitsAtEveryDepth() {
        JavaRDD<Example> data = sc.parallelize(rows(1600, 3), 4);
        TrainingResult first = null;
        for (int depth : new int[] {1, 2, 3}) {
            TrainingResult r = trainer(1.0).setAggregationDepth(depth).fit(data);
            if (first == null) {
                first = r;
            } else {
                assertArrayEquals(first.parameters().values(), r.parameters().values(), 0.0, "depth " + depth);
            }
        }
        TrainingResult again = trainer(1.0).fit(data);
        assertArrayEquals(first.parameters().values(), again.parameters().values(), 0.0, "a second run");
    }

    /** A resume continues to the uninterrupted run's bits, and refuses a checkpoint of another threshold. */
    @Test
    void aResumeGivesTheSameBitsAndRefusesAnotherThreshold() {
        JavaRDD<Example> data = sc.parallelize(rows(800, 5), 2);
        double[] uninterrupted = trainer(1.0).setMaxEpochs(3).fit(data).parameters().toFlat();
        String folder = dir.resolve("checkpoints").toString();
        trainer(1.0).setMaxEpochs(1).setCheckpointing(folder, 1, false).fit(data);
        TrainingResult resumed = trainer(1.0).setMaxEpochs(3).setCheckpointing(folder, 1, true).fit(data);
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new Trainer(SPEC).setSettings(MlpSettings.builder().optimizer("adam").stepSize(0.01)
                        .batchSize(200).tol(0).seed(5).maxEpochs(4).build()).setCheckpointing(folder, 1, true).fit(data));
        assertTrue(e.getMessage().contains("sparse threshold 1.0, this run has the default"), e.getMessage());
    }

    /** The lazy first layer's state (Adam's moments per row, the ridge term's catch-up) resumes to the same bits. */
    @Test
    void aLazyRunWithARidgeTermResumesToTheSameBits() {
        JavaRDD<Example> data = sc.parallelize(rows(800, 6), 2);
        java.util.function.IntFunction<Trainer> trainer = epochs -> new Trainer(SPEC).setSettings(MlpSettings.builder()
                .optimizer("adam").stepSize(0.01).regParam(0.01).batchSize(100).tol(0).seed(7).maxEpochs(epochs)
                .sparseThreshold(1.0).build());
        double[] uninterrupted = trainer.apply(4).fit(data).parameters().toFlat();
        String folder = dir.resolve("ridge-checkpoints").toString();
        trainer.apply(2).setCheckpointing(folder, 1, false).fit(data);
        TrainingResult resumed = trainer.apply(4).setCheckpointing(folder, 1, true).fit(data);
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
    }

    @Test
    void theEstimatorFitsScoresAndSavesSparseData() throws Exception {
        List<Row> frameRows = new ArrayList<>();
        for (Example e : rows(900, 4)) {
            frameRows.add(RowFactory.create(e.features(), e.target()[0]));
        }
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        Dataset<Row> frame = spark.createDataFrame(frameRows, schema).repartition(2);
        MlpClassifier classifier = new MlpClassifier().setHiddenLayers(new int[] {8}).setMaxEpochs(6)
                .setBatchSize(300).setStepSize(0.02).setSparseThreshold(0.2);
        MlpClassificationModel model = classifier.fit(frame);
        assertEquals(0.2, model.getSparseThreshold(), 0.0);
        List<Row> scored = model.transform(frame).select("label", "prediction").collectAsList();
        long right = scored.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count();
        assertTrue(right > 0.7 * scored.size(), "training accuracy " + (double) right / scored.size());
        String path = dir.resolve("sparse-model").toString();
        model.save(path);
        MlpClassificationModel loaded = MlpClassificationModel.load(path);
        assertEquals(0.2, loaded.getSparseThreshold(), 0.0);
        assertEquals(model.transform(frame).select("prediction").collectAsList(),
                loaded.transform(frame).select("prediction").collectAsList());
    }
}
