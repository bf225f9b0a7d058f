package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import io.sparkprop.data.Example;
import io.sparkprop.ml.MlpClassifier;
import io.sparkprop.ml.MlpRegressionModel;
import io.sparkprop.ml.MlpRegressor;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingDivergedException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The catalogue of bad inputs: each case is what a user might do wrong, the message they see, and —
 * for jobs — proof that nothing was written to the output folder.
 */
@ExtendWith(LocalSpark.class)
class BadInputCatalogueTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static Path root;

    @TempDir
    static Path shared;

    @BeforeAll
    static void start() throws IOException {
        root = shared;
        Files.writeString(root.resolve("good.csv"), "a,b,label\n1,2,0\n2,1,1\n3,3,0\n1,1,1\n");
        Files.writeString(root.resolve("nan.csv"), "a,b,label\n1,2,0\nNaN,1,1\n3,3,0\n");
        Files.writeString(root.resolve("inf.csv"), "a,b,label\n1,2,0\n2,Infinity,1\n3,3,0\n");
        Files.writeString(root.resolve("words.csv"), "a,b,label\n1,2,cat\n2,1,dog\n");
        Files.writeString(root.resolve("fraction.csv"), "a,b,label\n1,2,0.5\n2,1,1\n");
        Files.writeString(root.resolve("negative.csv"), "a,b,label\n1,2,-1\n2,1,1\n");
        Files.writeString(root.resolve("empty.csv"), "a,b,label\n");
        Files.writeString(root.resolve("one-class.csv"), "a,b,label\n1,2,1\n2,1,1\n3,3,1\n");
    }

    interface Action {
        void run() throws Exception;
    }

    private static Arguments job(String name, String regex, String... pairs) {
        return Arguments.of(name, regex, (Action) () -> {
            Properties p = new Properties();
            p.setProperty("output.dir", root.resolve("out-" + name.hashCode()).toString());
            for (int i = 0; i < pairs.length; i += 2) {
                p.setProperty(pairs[i], pairs[i + 1].replace("$ROOT", root.toString()));
            }
            TrainJob.run(JobConfig.parse(p), spark);
        }, root.resolve("out-" + name.hashCode()));
    }

    private static Arguments api(String name, String regex, Action action) {
        return Arguments.of(name, regex, action, null);
    }

    private static Dataset<Row> features(String csv) {
        return new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("features")
                .transform(spark.read().option("header", true).option("inferSchema", true).csv(root.resolve(csv).toString()));
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        String[] csv = {"data.format", "csv", "model.type", "mlp-classifier", "split.test", "0.5"};
        // the packer knows a feature's index and a row's place in its partition; the job names the column and file
        c.add(job("NaN feature", "column 'a' is NaN in a row of file:.*nan\\.csv \\(a=NaN, b=1, label=1\\); remove or "
                + "impute non-finite values before training", concat(csv, "data.path", "$ROOT/nan.csv", "split.test", "0")));
        c.add(job("string feature", "feature column 'label' must be numeric, found string",
                concat(csv, "data.path", "$ROOT/words.csv", "data.label.column", "b", "data.feature.columns", "a,label")));
        c.add(job("infinite feature", "column 'b' is Infinity in a row of file:.*inf\\.csv \\(a=2, b=Infinity, "
                + "label=1\\); remove or impute.*", concat(csv, "data.path", "$ROOT/inf.csv", "split.test", "0")));
        c.add(api("NaN feature through an estimator", "feature 0 of column 'features' is NaN in row \\d+ of partition "
                + "\\d+; remove or impute non-finite values before training",
                () -> new MlpRegressor().setMaxEpochs(1).fit(new VectorAssembler().setInputCols(new String[] {"a", "b"})
                        .setOutputCol("features").setHandleInvalid("keep").transform(spark.read().option("header", true)
                                .option("inferSchema", true).csv(root.resolve("nan.csv").toString())))));
        c.add(job("a single class", "every label in column 'label' is 1\\.0: a classifier needs examples of at least two "
                + "classes; check labelCol and the data", concat(csv, "data.path", "$ROOT/one-class.csv", "split.test", "0")));
        c.add(job("output.dir beneath a file", "output\\.dir .*good\\.csv/out cannot be created: .*good\\.csv is a "
                + "file, not a folder", concat(csv, "data.path", "$ROOT/good.csv", "output.dir", "$ROOT/good.csv/out")));
        c.add(api("a layer of 2e9 units", "the network 784-2000000000-10 has 1,590,000,000,010 parameters \\(12\\.7 TB "
                + "as doubles\\), more than the 2,147,483,639 values one array can hold: use narrower layers",
                () -> new Trainer(NetworkSpec.builder().input(784).dense(2_000_000_000, Activation.RELU)
                        .dense(10, Activation.SOFTMAX).build()).fit(sc.parallelize(List.of(Example.of(new double[784], 1)), 1))));
        c.add(api("a model larger than the driver", "the network 784-1000000-10 has 795,000,010 parameters \\(6\\.4 GB as doubles\\): "
                + "the driver needs at least .* GB for the parameters, gradients and optimiser state, and has .*: raise "
                + "spark\\.driver\\.memory or use narrower layers",
                () -> new Trainer(NetworkSpec.builder().input(784).dense(1_000_000, Activation.RELU)
                        .dense(10, Activation.SOFTMAX).build()).fit(sc.parallelize(List.of(Example.of(new double[784], 1)), 1))));
        c.add(job("string label", "label column 'label' must be numeric, found string",
                concat(csv, "data.path", "$ROOT/words.csv")));
        c.add(job("fractional label", "expected a class index in 0\\.\\.1, found 0\\.5 in row \\d+ of partition \\d+",
                concat(csv, "data.path", "$ROOT/fraction.csv", "split.test", "0")));
        c.add(job("negative label", "expected a class index in 0\\.\\.1, found -1\\.0 in row \\d+ of partition \\d+",
                concat(csv, "data.path", "$ROOT/negative.csv", "split.test", "0")));
        c.add(job("empty data", "the training data is empty: .*empty\\.csv has no rows",
                concat(csv, "data.path", "$ROOT/empty.csv")));
        c.add(job("missing data path", "data\\.path .*nowhere\\.csv does not exist",
                concat(csv, "data.path", "$ROOT/nowhere.csv")));
        c.add(job("missing label column", "data\\.label\\.column 'y' is not a column of the data; columns: a, b, label",
                concat(csv, "data.path", "$ROOT/good.csv", "data.label.column", "y")));
        c.add(job("missing feature column", "data\\.feature\\.columns names 'c', which is not a column; columns: a, b, label",
                concat(csv, "data.path", "$ROOT/good.csv", "data.feature.columns", "a,c")));
        c.add(job("unknown config key", "unknown key 'train.epochs'; did you mean 'train.tol'\\?|unknown key "
                + "'train.epochs'; did you mean '.*'\\?", concat(csv, "data.path", "$ROOT/good.csv", "train.epochs", "3")));
        c.add(job("malformed config value", "key train.maxEpochs: expected an integer > 0, found 'ten'",
                concat(csv, "data.path", "$ROOT/good.csv", "train.maxEpochs", "ten")));
        c.add(job("layer width 0 in a config", "key model.hidden: expected comma-separated widths > 0, or empty, found '8,0'",
                concat(csv, "data.path", "$ROOT/good.csv", "model.hidden", "8,0")));
        c.add(job("step size 0 in a config", "key train.stepSize: expected a number > 0, found '0'",
                concat(csv, "data.path", "$ROOT/good.csv", "train.stepSize", "0")));
        c.add(job("negative regParam in a config", "key train.regParam: expected a number >= 0, found '-1'",
                concat(csv, "data.path", "$ROOT/good.csv", "train.regParam", "-1")));
        c.add(job("missing required key", "missing required key model.type \\(one of mlp-classifier, mlp-regressor, ridge\\)",
                "data.format", "sample"));
        c.add(job("resume without checkpoints", "resume=true needs checkpoint.dir \\(a path\\)",
                concat(csv, "data.path", "$ROOT/good.csv", "resume", "true")));
        c.add(api("layer width 0", ".*hiddenLayers given invalid value.*",
                () -> new MlpClassifier().setHiddenLayers(new int[] {0})));
        c.add(api("step size NaN", ".*stepSize given invalid value NaN.*", () -> new MlpClassifier().setStepSize(Double.NaN)));
        c.add(api("step size negative", ".*stepSize given invalid value -1\\.0.*", () -> new MlpClassifier().setStepSize(-1)));
        c.add(api("negative regParam", ".*regParam given invalid value -0\\.5.*", () -> new MlpRegressor().setRegParam(-0.5)));
        c.add(api("negative weight", "expected a finite weight >= 0, found -2\\.0 in row 0 of partition \\d+",
                () -> trainer().fit(sc.parallelize(List.of(Example.weighted(-2, Vectors.dense(1, 2), 1)), 1))));
        c.add(api("all weights zero", "every example weight is 0: nothing to train on \\(2 examples\\)",
                () -> trainer().fit(sc.parallelize(List.of(Example.weighted(0, Vectors.dense(1, 2), 1),
                        Example.weighted(0, Vectors.dense(2, 1), 0)), 2))));
        c.add(api("wrong vector size in some rows", "expected 2 features, found 3 in row 1 of partition 0",
                () -> trainer().fit(sc.parallelize(List.of(Example.of(new double[] {1, 2}, 1),
                        Example.of(new double[] {1, 2, 3}, 0)), 1))));
        c.add(api("model applied to data of another width", "expected 2 features, found 3; the model was trained on 2",
                () -> {
                    MlpRegressionModel m = new MlpRegressor().setMaxEpochs(1).fit(features("good.csv"));
                    Dataset<Row> wider = new VectorAssembler().setInputCols(new String[] {"a", "b", "label"})
                            .setOutputCol("features").transform(spark.read().option("header", true)
                                    .option("inferSchema", true).csv(root.resolve("good.csv").toString()));
                    try {
                        m.transform(wider).collect();
                    } catch (Exception e) {
                        Throwable t = e;
                        while (t.getCause() != null && !(t instanceof IllegalArgumentException)) {
                            t = t.getCause();
                        }
                        throw t instanceof IllegalArgumentException ? (IllegalArgumentException) t : e;
                    }
                }));
        c.add(api("corrupted model folder", "cannot load MlpRegressionModel from .*: cannot read the weights in .*",
                () -> {
                    Path folder = root.resolve("model-" + System.nanoTime());
                    new MlpRegressor().setMaxEpochs(1).fit(features("good.csv")).save(folder.toString());
                    try (Stream<Path> files = Files.walk(folder.resolve("data"))) {
                        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                    MlpRegressionModel.load(folder.toString());
                }));
        c.add(api("diverging step size", "training diverged at epoch \\d+, iteration \\d+: .*; try a smaller step size "
                + "\\(stepSize is 1\\.0E8\\)", () -> {
                    try {
                        new Trainer(NetworkSpec.builder().input(2).dense(4, Activation.RELU).dense(1, Activation.IDENTITY)
                                .build()).setOptimizer(Optimizer.sgd(1e8)).setBatchSize(0).setMaxEpochs(20)
                                .fit(sc.parallelize(List.of(Example.of(new double[] {1, 2}, 3),
                                        Example.of(new double[] {2, 1}, -3)), 1));
                    } catch (TrainingDivergedException e) {
                        assertTrue(e.lastFiniteParameters().isFinite(), "the last good weights are kept");
                        throw new IllegalArgumentException(e.getMessage(), e);
                    }
                }));
        c.add(api("checkpoint of another network", ".*is of a network with layer sizes \\[2, 3, 2\\], this run trains "
                + "\\[2, 5, 2\\].*", () -> {
                    String folder = root.resolve("ckpt-" + System.nanoTime()).toString();
                    List<Example> data = List.of(Example.of(new double[] {1, 2}, 1), Example.of(new double[] {2, 1}, 0));
                    new Trainer(NetworkSpec.builder().input(2).dense(3, Activation.TANH).dense(2, Activation.SOFTMAX).build())
                            .setMaxEpochs(1).setCheckpointing(folder, 1, false).fit(sc.parallelize(data, 1));
                    new Trainer(NetworkSpec.builder().input(2).dense(5, Activation.TANH).dense(2, Activation.SOFTMAX).build())
                            .setMaxEpochs(2).setCheckpointing(folder, 1, true).fit(sc.parallelize(data, 1));
                }));
        return c.stream();
    }

    private static Trainer trainer() {
        return new Trainer(NetworkSpec.builder().input(2).dense(2, Activation.SOFTMAX).build()).setMaxEpochs(1);
    }

    private static String[] concat(String[] base, String... more) {
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aBadInputGivesItsMessageAndLeavesNoOutput(String name, String regex, Action action, Path output) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run, name);
        assertTrue(e.getMessage().matches(regex), name + ": " + e.getMessage());
        if (output != null) {
            assertFalse(Files.exists(output), name + ": nothing was written to " + output);
        }
    }
}
