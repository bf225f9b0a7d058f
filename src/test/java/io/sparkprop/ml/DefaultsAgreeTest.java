package io.sparkprop.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;

import io.sparkprop.data.DataFrames;
import io.sparkprop.job.JobConfig;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.ridge.RidgeSettings;
import io.sparkprop.ridge.RidgeSolution;
import io.sparkprop.ridge.RidgeSolver;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Trainer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The three entry points — the Java trainer and solver, the Spark ML estimators, the job's config —
 * mean the same with nothing set: the same defaults, and the same bits trained from them.
 */
@ExtendWith(LocalSpark.class)
class DefaultsAgreeTest {
    private static SparkSession spark;
    private static Dataset<Row> frame;

    @BeforeAll
    static void start() {
        SplittableRandom random = new SplittableRandom(3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            double[] x = {random.nextDouble(), random.nextDouble(), random.nextDouble()};
            rows.add(RowFactory.create(Vectors.dense(x), x[0] - 2 * x[1] + 0.5 * x[2] + 0.1 * random.nextDouble()));
        }
        StructType schema = new StructType().add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.DoubleType);
        frame = spark.createDataFrame(rows, schema).repartition(2).cache();
    }

    private static JobConfig defaultConfig(String modelType) {
        Properties p = new Properties();
        p.setProperty("data.format", "sample");
        p.setProperty("model.type", modelType);
        p.setProperty("output.dir", "out");
        return JobConfig.parse(p);
    }

    /** The value of {@code owner}'s default for the param named {@code name}. */
    private static Object defaultOf(Params owner, String name) {
        Param<?> param = owner.getParam(name);
        return owner.getDefault(param).get();
    }

    @Test
    void theJobsKeysDefaultToTheEstimatorsParams() {
        JobConfig c = defaultConfig("mlp-classifier");
        for (MlpEstimator<?, ?> m : new MlpEstimator<?, ?>[] {new MlpClassifier(), new MlpRegressor()}) {
            assertArrayEquals(c.integers("model.hidden"), (int[]) defaultOf(m, "hiddenLayers"));
            assertEquals(c.string("model.activation"), defaultOf(m, "activation"));
            assertEquals(c.string("train.optimizer"), defaultOf(m, "optimizer"));
            for (String real : new String[] {"stepSize", "stepDecay", "momentum", "tol", "regParam", "outerStepSize",
                "outerMomentum", "stepFloor", "stepDropFactor", "dropout", "clipNorm", "labelSmoothing"}) {
                assertEquals(c.real("train." + real), (Double) defaultOf(m, real), 0.0, real);
            }
            // auto or an integer, as text
            assertEquals(c.string("train.localSteps"), defaultOf(m, "localSteps"));
            for (String integer : new String[] {"batchSize", "maxEpochs", "blockSize", "aggregationDepth",
                "patience", "warmupSteps", "stepDropEpochs", "numShards"}) {
                assertEquals(c.integer("train." + integer), (Integer) defaultOf(m, integer), integer);
            }
            assertEquals(c.longValue("train.seed"), (Long) defaultOf(m, "seed"));
            assertEquals(c.string("train.precision"), defaultOf(m, "precision"));
            assertEquals(c.real("train.sparseThreshold"), (Double) defaultOf(m, "sparseThreshold"), 0.0);
            assertEquals(c.string("train.stepSchedule"), defaultOf(m, "stepSchedule"));
            assertEquals(c.string("train.classWeights"), defaultOf(m, "classWeights"));
        }
        RidgeRegression ridge = new RidgeRegression();
        assertEquals(c.real("train.regParam"), (Double) defaultOf(ridge, "regParam"), 0.0);
        assertEquals(c.bool("ridge.fitIntercept"), defaultOf(ridge, "fitIntercept"));
        assertEquals(c.bool("ridge.standardization"), defaultOf(ridge, "standardization"));
        assertEquals(c.string("ridge.solver"), defaultOf(ridge, "solver"));
        assertEquals(c.integer("train.aggregationDepth"), (Integer) defaultOf(ridge, "aggregationDepth"));
        assertEquals(c.longValue("train.seed"), (Long) defaultOf(ridge, "seed"));
        assertEquals(c.string("train.precision"), defaultOf(ridge, "precision"));
        assertEquals(c.real("train.sparseThreshold"), (Double) defaultOf(ridge, "sparseThreshold"), 0.0);
        assertEquals(io.sparkprop.exec.ShardPacker.DEFAULT_SPARSE_THRESHOLD, c.real("train.sparseThreshold"), 0.0);
        // the keys whose ridge defaults differ are not passed unless given (see JobConfig.ridgeSettings)
        assertTrue(!c.isSet("train.stepSize") && !c.isSet("train.maxEpochs") && !c.isSet("train.blockSize"));
        // and the settings values: the job's, the estimators' and the records' own defaults are one value
        assertEquals(MlpSettings.defaults(), c.mlpSettings());
        assertEquals(MlpSettings.defaults(), new MlpClassifier().settings());
        assertEquals(MlpSettings.defaults(), new MlpRegressor().settings());
        assertEquals(MlpSettings.defaults(), new Trainer(NetworkSpec.builder().input(2).dense(1, Activation.IDENTITY)
                .build()).settings());
        assertEquals(RidgeSettings.defaults(), defaultConfig("ridge").ridgeSettings());
        assertEquals(RidgeSettings.defaults(), ridge.settings());
        assertEquals(RidgeSettings.defaults(), new RidgeSolver().settings());
    }

    @Test
    void settingsRoundTripThroughTheParamsAndTheConfig() {
        MlpSettings s = MlpSettings.builder().optimizer("Nesterov").stepSize(0.05).momentum(0.8).stepDecay(0.01)
                .batchSize(64).localSteps(8).outerStepSize(0.7).outerMomentum(0.9).maxEpochs(7).tol(1e-3).regParam(1e-4).blockSize(32).aggregationDepth(3).numShards(3).seed(9)
                .patience(2).precision("FLOAT32").sparseThreshold(0.3).warmupSteps(20).stepFloor(0.05)
                .stepDropEpochs(3).stepDropFactor(0.5).dropout(0.2).clipNorm(4).classWeights("1,50")
                .labelSmoothing(0.1).build();
        assertEquals("nesterov", s.optimizer());
        assertEquals(s, new MlpClassifier().setSettings(s).settings());
        assertEquals(s, s.toBuilder().build());
        // every update rule, Adam's own constants included, survives the trip through the settings
        for (Optimizer rule : new Optimizer[] {Optimizer.adam(0.01, 0.8, 0.99, 1e-7).withDecay(0.1),
            Optimizer.nesterov(0.2, 0.5), Optimizer.sgd(0.3, 0.01), Optimizer.momentum(0.1, 0.7)}) {
            assertEquals(rule.toString(), MlpSettings.builder().updateRule(rule).build().updateRule().toString());
        }
        Properties p = new Properties();
        p.setProperty("data.format", "sample");
        p.setProperty("model.type", "mlp-classifier");
        p.setProperty("output.dir", "out");
        p.setProperty("split.validation", "0.1");
        p.setProperty("train.optimizer", "nesterov");
        p.setProperty("train.stepSize", "0.05");
        p.setProperty("train.momentum", "0.8");
        p.setProperty("train.stepDecay", "0.01");
        p.setProperty("train.batchSize", "64");
        p.setProperty("train.localSteps", "8");
        p.setProperty("train.outerStepSize", "0.7");
        p.setProperty("train.outerMomentum", "0.9");
        p.setProperty("train.maxEpochs", "7");
        p.setProperty("train.tol", "1e-3");
        p.setProperty("train.regParam", "1e-4");
        p.setProperty("train.blockSize", "32");
        p.setProperty("train.aggregationDepth", "3");
        p.setProperty("train.numShards", "3");
        p.setProperty("train.seed", "9");
        p.setProperty("train.patience", "2");
        p.setProperty("train.precision", "float32");
        p.setProperty("train.sparseThreshold", "0.3");
        p.setProperty("train.warmupSteps", "20");
        p.setProperty("train.stepFloor", "0.05");
        p.setProperty("train.stepDropEpochs", "3");
        p.setProperty("train.stepDropFactor", "0.5");
        p.setProperty("train.dropout", "0.2");
        p.setProperty("train.clipNorm", "4");
        p.setProperty("train.classWeights", "1, 50");
        p.setProperty("train.labelSmoothing", "0.1");
        assertEquals(s, JobConfig.parse(p).mlpSettings());
        // every schedule name survives the params and the config; a shape other than inverse takes no decay
        for (String schedule : io.sparkprop.optim.StepSchedule.Kind.names()) {
            MlpSettings shaped = s.toBuilder().stepSchedule(schedule).stepDecay(schedule.equals("inverse") ? 0.01 : 0)
                    .build();
            assertEquals(shaped, new MlpRegressor().setSettings(shaped).settings());
            p.setProperty("train.stepSchedule", schedule.toUpperCase(java.util.Locale.ROOT));
            p.setProperty("train.stepDecay", schedule.equals("inverse") ? "0.01" : "0");
            assertEquals(shaped, JobConfig.parse(p).mlpSettings());
        }
        p.setProperty("train.dropout", "1");
        IllegalArgumentException badKey = assertThrows(IllegalArgumentException.class, () -> JobConfig.parse(p));
        assertTrue(badKey.getMessage().contains("train.dropout"), badKey.getMessage());
        p.setProperty("train.dropout", "0.2");
        p.setProperty("train.classWeights", "1;50");
        badKey = assertThrows(IllegalArgumentException.class, () -> JobConfig.parse(p));
        assertTrue(badKey.getMessage().contains("train.classWeights"), badKey.getMessage());
        RidgeSettings r = RidgeSettings.builder().regParam(0.5).fitIntercept(false).standardization(true)
                .solver("sgd").blockSize(100).aggregationDepth(1).stepSize(0.2).maxEpochs(5).seed(3).precision("float32")
                .sparseThreshold(0.5).build();
        assertEquals(r, new RidgeRegression().setSettings(r).settings());
        // the normal equations are float64 whatever is asked: float32 with solver normal is refused, not ignored
        IllegalArgumentException normal32 = assertThrows(IllegalArgumentException.class,
                () -> RidgeSettings.builder().precision(io.sparkprop.linalg.Precision.FLOAT32).build());
        assertEquals("precision float32 applies to solver sgd only: the normal equations are always formed and solved "
                + "in float64; use precision float64 with solver normal, or solver sgd", normal32.getMessage());
        // a threshold outside [0, 1] is refused with the setting's name, by the settings and the params alike
        IllegalArgumentException threshold = assertThrows(IllegalArgumentException.class,
                () -> MlpSettings.builder().sparseThreshold(1.5).build());
        assertEquals("sparseThreshold must be in [0, 1], found 1.5", threshold.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MlpClassifier().setSparseThreshold(-0.1));
        assertThrows(IllegalArgumentException.class, () -> new RidgeRegression().setSparseThreshold(2));
        // the estimator's sgd solver has no optimizer, batch or tol params: such settings are refused, not dropped
        IllegalArgumentException notParams = assertThrows(IllegalArgumentException.class,
                () -> new RidgeRegression().setSettings(RidgeSettings.builder().batchSize(10).build()));
        assertEquals("RidgeRegression's sgd solver runs adam, batch size 0, tol 0.0; for other values use "
                + "RidgeSolver", notParams.getMessage());
        // a value the builder refuses is refused with the setting's name, wherever it comes from
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MlpSettings.builder().momentum(1.0).build());
        assertEquals("momentum must be in [0, 1), found 1.0", e.getMessage());
    }

    @Test
    void theTrainerAndTheEstimatorTrainTheSameBitsFromTheirDefaults() {
        MlpRegressionModel model = new MlpRegressor().setMaxEpochs(2).fit(frame);
        NetworkSpec spec = NetworkSpec.of(3, new int[] {64}, Activation.RELU, 1, Activation.IDENTITY, null);
        double[] direct = new Trainer(spec).setMaxEpochs(2)
                .fit(DataFrames.toExamples(frame, "features", "label", null)).parameters().toFlat();
        assertArrayEquals(direct, model.parameters().toFlat(), 0.0);
    }

    @Test
    void theRidgeSolverAndTheEstimatorTrainTheSameBitsFromTheirDefaults() {
        RidgeRegressionModel model = new RidgeRegression().setSolver("sgd").fit(frame);
        RidgeSolution direct = new RidgeSolver().setSolver(RidgeSolver.Solver.SGD).fit(frame, "features", "label", null);
        assertArrayEquals(direct.coefficients(0), model.coefficients().toArray(), 0.0);
        assertEquals(direct.intercepts()[0], model.intercept(), 0.0);
    }

    @Test
    void everyUpdateRuleIsSelectableByNameAndAnUnknownOneIsRefusedWhenSet() {
        for (String name : new String[] {"sgd", "momentum", "nesterov", "adam", "Nesterov"}) {
            MlpRegressionModel m = new MlpRegressor().setOptimizer(name).setStepSize(0.01).setMaxEpochs(1).fit(frame);
            assertEquals(name, m.getOptimizer());
        }
        // nesterov is not silently another rule: it trains other bits than momentum and adam
        double[] nesterov = new MlpRegressor().setOptimizer("nesterov").setMaxEpochs(1).fit(frame).parameters().toFlat();
        double[] momentum = new MlpRegressor().setOptimizer("momentum").setMaxEpochs(1).fit(frame).parameters().toFlat();
        double[] adam = new MlpRegressor().setOptimizer("adam").setMaxEpochs(1).fit(frame).parameters().toFlat();
        assertTrue(!java.util.Arrays.equals(nesterov, momentum) && !java.util.Arrays.equals(nesterov, adam));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MlpClassifier().setOptimizer("rmsprop"));
        assertEquals("unknown optimizer 'rmsprop', expected one of sgd, momentum, nesterov, adam", e.getMessage());
        // the decay is a param: it changes the steps, and 0 is the constant step
        double[] decayed = new MlpRegressor().setOptimizer("sgd").setStepDecay(0.5).setMaxEpochs(1).fit(frame)
                .parameters().toFlat();
        double[] constant = new MlpRegressor().setOptimizer("sgd").setMaxEpochs(1).fit(frame).parameters().toFlat();
        assertTrue(!java.util.Arrays.equals(decayed, constant));
    }
}
