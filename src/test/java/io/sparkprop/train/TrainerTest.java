package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.TestData;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(LocalSpark.class)
class TrainerTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    /** {@code y = x·w* + b* + noise}, features standard normal. */
    static List<Example> linearData(int n, int features, double noise, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = new double[features];
            double y = 0.5;
            for (int j = 0; j < features; j++) {
                x[j] = gaussian(random);
                y += (j + 1) * 0.3 * x[j] * (j % 2 == 0 ? 1 : -1);
            }
            examples.add(Example.of(x, y + noise * gaussian(random)));
        }
        return examples;
    }

    static double gaussian(SplittableRandom random) {
        // Box–Muller: deterministic from the seed
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    private static final NetworkSpec CLASSIFIER = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(5, Activation.RELU).dense(3, Activation.SOFTMAX).build();

    static List<Example> classificationData(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = {gaussian(random), gaussian(random), gaussian(random), gaussian(random)};
            int label = x[0] + x[1] > 0.5 ? 2 : x[2] > 0 ? 1 : 0;
            examples.add(i % 3 == 0
                    ? Example.weighted(0.5 + random.nextDouble(), Vectors.dense(x).toSparse(), label)
                    : Example.of(x, label));
        }
        return examples;
    }

    /** The distributed gradient over 1 and over 3 partitions equals the kernel's over all data in one block. */
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void distributedGradientEqualsOneBlockGradient(int partitions) {
        List<Example> data = classificationData(301, 5);
        Parameters at = Parameters.initialise(CLASSIFIER, 9);
        GradientSum distributed = new Trainer(CLASSIFIER).setBlockSize(16).setNumShards(partitions)
                .computeGradient(sc.parallelize(data, partitions), at);

        DMatrixRMaj x = new DMatrixRMaj(4, data.size());
        DMatrixRMaj y = new DMatrixRMaj(3, data.size());
        double[] w = new double[data.size()];
        for (int j = 0; j < data.size(); j++) {
            double[] f = data.get(j).features().toArray();
            for (int i = 0; i < 4; i++) {
                x.set(i, j, f[i]);
            }
            y.set((int) data.get(j).target()[0], j, 1.0);
            w[j] = data.get(j).weight();
        }
        GradientSum local = new GradientSum(CLASSIFIER);
        new BackpropKernel(CLASSIFIER, GemmBackend.EJML.gemm()).lossAndGradient(at, x, y, w, local);

        assertEquals(301, distributed.count());
        assertEquals(local.weightSum(), distributed.weightSum(), 1e-10 * local.weightSum());
        assertEquals(local.lossSum(), distributed.lossSum(), 1e-10 * local.lossSum());
        assertTrue(TestData.maxRelativeDifference(local.gradient().toFlat(), distributed.gradient().toFlat()) < 1e-10);
    }

    @Test
    void learnsXor() {
        NetworkSpec spec = NetworkSpec.builder().input(2).dense(4, Activation.TANH)
                .dense(1, Activation.SIGMOID).loss(Loss.SIGMOID_CROSS_ENTROPY).build();
        List<Example> xor = Arrays.asList(Example.of(new double[] {0, 0}, 0), Example.of(new double[] {0, 1}, 1),
                Example.of(new double[] {1, 0}, 1), Example.of(new double[] {1, 1}, 0));
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.adam(0.1)).setBatchSize(0).setMaxEpochs(150)
                .setTol(0).setSeed(3).fit(sc.parallelize(xor, 2));
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        DMatrixRMaj out = new DMatrixRMaj(1, 4);
        kernel.predict(r.parameters(), new DMatrixRMaj(new double[][] {{0, 0, 1, 1}, {0, 1, 0, 1}}), out);
        assertTrue(out.get(0, 0) < 0.1 && out.get(0, 1) > 0.9 && out.get(0, 2) > 0.9 && out.get(0, 3) < 0.1,
                "XOR outputs " + Arrays.toString(out.data));
        assertEquals(150, r.history().iterations().size());
        assertTrue(r.history().lossHistory()[149] < 0.05 * r.history().lossHistory()[0]);
    }

    /** Mini-batch Adam on a noisy linear problem ends at the loss of the true coefficients (the noise floor). */
    @Test
    void noisyRegressionReachesTheNoiseFloor() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(1, Activation.IDENTITY).build();
        double noise = 0.1;
        List<Example> data = linearData(2000, 5, noise, 17);
        JavaRDD<Example> rdd = sc.parallelize(data, 4);
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.adam(0.05)).setBatchSize(200).setMaxEpochs(15)
                .setTol(0).setSeed(1).fit(rdd);
        double trained = new Trainer(spec).computeGradient(rdd, r.parameters()).lossSum() / data.size();
        // the floor: half the mean squared noise of this sample, i.e. the loss at the true coefficients
        Parameters truth = Parameters.zeros(spec);
        for (int j = 0; j < 5; j++) {
            truth.values()[truth.weightOffset(0) + j] = (j + 1) * 0.3 * (j % 2 == 0 ? 1 : -1); // W(0, j), 1×5
        }
        truth.values()[truth.biasOffset(0)] = 0.5;
        double floor = new Trainer(spec).computeGradient(rdd, truth).lossSum() / data.size();
        assertEquals(noise * noise / 2, floor, 0.15 * noise * noise / 2, "sanity: the sample's noise");
        assertTrue(trained < 1.02 * floor, "trained loss " + trained + " vs floor " + floor);
        assertEquals(15 * r.iterationsPerEpoch(), r.history().iterations().size());
    }

    @Test
    void sameSeedIsBitIdenticalAndAnotherSeedDiffers() {
        // 9 partitions: with depth 2 the merge goes through one tree level of 3 groups
        JavaRDD<Example> rdd = sc.parallelize(classificationData(900, 8), 9);
        Trainer trainer = new Trainer(CLASSIFIER).setOptimizer(Optimizer.momentum(0.05, 0.9)).setBatchSize(90)
                .setMaxEpochs(2).setTol(0).setSeed(11).setNumShards(9);
        double[] a = trainer.fit(rdd).parameters().toFlat();
        double[] b = trainer.fit(rdd).parameters().toFlat();
        assertArrayEquals(a, b, 0.0);
        double[] c = trainer.setSeed(12).fit(rdd).parameters().toFlat();
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    void largerRegParamGivesSmallerWeights() {
        JavaRDD<Example> rdd = sc.parallelize(classificationData(400, 2), 2);
        Trainer trainer = new Trainer(CLASSIFIER).setOptimizer(Optimizer.adam(0.02)).setBatchSize(0)
                .setMaxEpochs(60).setTol(0).setSeed(4);
        double small = trainer.setRegParam(1e-4).fit(rdd).parameters().weightNormSquared();
        double large = trainer.setRegParam(1e-1).fit(rdd).parameters().weightNormSquared();
        assertTrue(large < 0.5 * small, "‖W‖² with λ=0.1: " + large + ", with λ=1e-4: " + small);
    }

    /**
     * Zero hidden layers, identity output, full-batch gradient descent converges to the closed-form
     * ridge solution of {@code 1/(2N) Σ (y − Wx − b)² + λ/2 ‖W‖²}: centred, {@code W = (XcᵀXc/N + λI)⁻¹ Xcᵀyc/N},
     * {@code b = ȳ − W x̄}.
     */
    @Test
    void fullBatchLinearGradientDescentReachesTheRidgeSolution() {
        int n = 400;
        int d = 5;
        double lambda = 0.3;
        List<Example> data = linearData(n, d, 0.5, 23);
        NetworkSpec spec = NetworkSpec.builder().input(d).dense(1, Activation.IDENTITY).build();
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.sgd(0.7)).setBatchSize(0).setMaxEpochs(80)
                .setTol(0).setRegParam(lambda).fit(sc.parallelize(data, 3));

        double[] mean = new double[d];
        double yMean = 0;
        for (Example e : data) {
            for (int j = 0; j < d; j++) {
                mean[j] += e.features().apply(j) / n;
            }
            yMean += e.target()[0] / n;
        }
        DMatrixRMaj a = new DMatrixRMaj(d, d);
        DMatrixRMaj rhs = new DMatrixRMaj(d, 1);
        for (Example e : data) {
            for (int i = 0; i < d; i++) {
                double xi = e.features().apply(i) - mean[i];
                rhs.data[i] += xi * (e.target()[0] - yMean) / n;
                for (int j = 0; j < d; j++) {
                    a.add(i, j, xi * (e.features().apply(j) - mean[j]) / n);
                }
            }
        }
        for (int i = 0; i < d; i++) {
            a.add(i, i, lambda);
        }
        DMatrixRMaj w = new DMatrixRMaj(d, 1);
        assertTrue(CommonOps_DDRM.solve(a, rhs, w));
        double b = yMean;
        for (int j = 0; j < d; j++) {
            b -= w.data[j] * mean[j];
        }
        double[] expected = Arrays.copyOf(w.data, d + 1);
        expected[d] = b;
        double diff = TestData.maxRelativeDifference(expected, r.parameters().toFlat());
        assertTrue(diff < 1e-8, "relative difference to the closed form " + diff);
    }

    @Test
    void aHugeStepSizeStopsWithAClearErrorAndFiniteWeights() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(8, Activation.RELU).dense(1, Activation.IDENTITY).build();
        Trainer trainer = new Trainer(spec).setOptimizer(Optimizer.sgd(1e4)).setBatchSize(0).setMaxEpochs(50);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> trainer.fit(sc.parallelize(linearData(200, 5, 0.1, 3), 2)));
        assertTrue(e.getMessage().startsWith("training diverged at epoch " + (e.epoch() + 1) + ", iteration "
                + (e.iteration() + 1) + ": "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; try a smaller step size (stepSize is 10000.0)"), e.getMessage());
        assertTrue(e.lastFiniteParameters().isFinite());
        assertEquals(e.iteration(), e.history().iterations().size());
    }

    /** Each mini-batch iteration reads only its blocks: one block of every partition per update here. */
    @Test
    void miniBatchIterationsReadOnlyTheirBlocks() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(1, Activation.IDENTITY).build();
        // 4 partitions of 250; batch 100 → blocks of 25, 10 blocks a partition, 10 updates an epoch
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.sgd(0.01)).setBatchSize(100).setBlockSize(128)
                .setNumShards(4).setMaxEpochs(3).setTol(0).fit(sc.parallelize(linearData(1000, 5, 0.1, 1), 4));
        assertEquals(25, r.blockSize());
        assertEquals(10, r.iterationsPerEpoch());
        assertEquals(30, r.history().iterations().size());
        for (IterationRecord it : r.history().iterations()) {
            assertEquals(4, it.blocks(), "blocks read by iteration " + it.iteration());
            assertEquals(100, it.examples());
        }
        assertEquals(3, r.history().epochs().size());
    }

    /** A batch larger than one block a partition reads several blocks of every partition per update. */
    @Test
    void largeBatchesReadSeveralBlocksOfEachPartition() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(1, Activation.IDENTITY).build();
        // 4 partitions of 250 in blocks of 25: batch 500 → 2 updates an epoch, 5 blocks of each partition
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.sgd(0.01)).setBatchSize(500).setBlockSize(25)
                .setNumShards(4).setMaxEpochs(2).setTol(0).fit(sc.parallelize(linearData(1000, 5, 0.1, 1), 4));
        assertEquals(25, r.blockSize());
        assertEquals(2, r.iterationsPerEpoch());
        for (IterationRecord it : r.history().iterations()) {
            assertEquals(20, it.blocks());
            assertEquals(500, it.examples());
        }
    }

    /**
     * By default the data is packed into one shard per core, in contiguous ranges of input partitions:
     * training on 6 partitions in local[2] equals training on the same rows in 2 partitions.
     */
    @Test
    void shardsDefaultToTheCoresInContiguousRanges() {
        List<Example> data = classificationData(600, 4);
        Trainer trainer = new Trainer(CLASSIFIER).setOptimizer(Optimizer.adam(0.01)).setBatchSize(100)
                .setMaxEpochs(2).setTol(0);
        TrainingResult six = trainer.fit(sc.parallelize(data, 6));
        assertEquals(2, six.numShards());
        TrainingResult two = trainer.fit(sc.parallelize(data, 2));
        assertArrayEquals(two.parameters().toFlat(), six.parameters().toFlat(), 0.0);
        assertEquals(6, trainer.setNumShards(8).fit(sc.parallelize(data, 6)).numShards(), "never more than the input");
    }

    @Test
    void emptyPartitionsAreFineAndEmptyDataIsAnError() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(1, Activation.IDENTITY).build();
        Trainer trainer = new Trainer(spec).setOptimizer(Optimizer.sgd(0.1)).setBatchSize(0).setMaxEpochs(3)
                .setNumShards(6);
        TrainingResult r = trainer.fit(sc.parallelize(linearData(3, 5, 0.1, 1), 6));
        assertEquals(3, r.numExamples());
        assertEquals(6, r.numShards());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer.fit(sc.parallelize(new ArrayList<Example>(), 3)));
        assertEquals("the training data is empty: no examples in any of 3 partitions", e.getMessage());
    }

    @Test
    void aBadExampleFailsWithItsRowNamed() {
        NetworkSpec spec = NetworkSpec.builder().input(3).dense(1, Activation.IDENTITY).build();
        List<Example> data = new ArrayList<>();
        data.add(Example.of(new double[] {1, 2, 3}, 1));
        data.add(Example.of(new double[] {1, 2}, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(spec).fit(sc.parallelize(data, 1)));
        assertEquals("expected 3 features, found 2 in row 1 of partition 0", e.getMessage());
        data.set(1, Example.of(new double[] {1, Double.NaN, 2}, 1));
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spec).fit(sc.parallelize(data, 1)));
        assertEquals("feature 1 is NaN in row 1 of partition 0; remove or impute non-finite values before training",
                e.getMessage());
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(CLASSIFIER).fit(sc.parallelize(
                        Arrays.asList(Example.of(new double[] {1, 2, 3, 4}, 3)), 1)));
        assertEquals("expected a class index in 0..2, found 3.0 in row 0 of partition 0", label.getMessage());
    }

    /** The cached shards take no more than 1.1 × their raw doubles. */
    @Test
    void cachedShardsAreCloseToTheirRawDoubles() {
        NetworkSpec spec = NetworkSpec.builder().input(50).dense(1, Activation.IDENTITY).build();
        TrainingResult r = new Trainer(spec).setOptimizer(Optimizer.sgd(0.01)).setBatchSize(0).setMaxEpochs(1)
                .fit(sc.parallelize(linearData(20000, 50, 0.1, 2), 4));
        long raw = 20000L * (50 + 1) * 8;
        assertEquals(raw, r.payloadBytes());
        assertTrue(r.cachedBytes() > 0, "the shards were cached");
        assertTrue(r.cachedBytes() <= 1.1 * raw, "cached " + r.cachedBytes() + " bytes for " + raw + " raw");
    }
}
