package io.sparkprop.job;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import io.sparkprop.ridge.RidgeSettings;
import io.sparkprop.train.ClassWeights;
import io.sparkprop.train.MlpSettings;

/**
 * A training job's settings, read from a {@code .properties} file: one key per setting, each with a
 * default (or required), the form its value must take, and a description ({@link #KEYS} is the
 * reference the README's table is made from). Every value is checked when the file is read, before
 * Spark starts: an unknown key names the nearest valid one, a missing required key or a bad value
 * names the key and the expected form. Keys {@code spark.conf.<name>} pass {@code <name>} to Spark.
 */
public final class JobConfig {
    /** Prefix of keys passed through to Spark's configuration. */
    public static final String SPARK_CONF_PREFIX = "spark.conf.";

    /**
     * One setting: its name, default ({@code null} when required), expected form and meaning, and where
     * its value goes: into the MLP's {@link MlpSettings} and/or the ridge's {@link RidgeSettings}
     * ({@code null}: not a setting of that model).
     */
    public record Key(String name, String defaultValue, String form, String doc, Predicate<String> valid,
                      BiConsumer<MlpSettings.Builder, String> mlp, BiConsumer<RidgeSettings.Builder, String> ridge) {
    }

    /** Every key, in the order of the README's table. */
    public static final Map<String, Key> KEYS = new LinkedHashMap<>();

    private static final Predicate<String> ANY = v -> true;
    private static final Predicate<String> POSITIVE_INT = v -> isInt(v) && Integer.parseInt(v.trim()) > 0;
    private static final Predicate<String> NON_NEGATIVE_INT = v -> isInt(v) && Integer.parseInt(v.trim()) >= 0;
    private static final Predicate<String> POSITIVE_DOUBLE = v -> isDouble(v) && Double.parseDouble(v.trim()) > 0;
    private static final Predicate<String> NON_NEGATIVE_DOUBLE = v -> isDouble(v) && Double.parseDouble(v.trim()) >= 0;
    private static final Predicate<String> FRACTION = v -> isDouble(v) && Double.parseDouble(v.trim()) >= 0
            && Double.parseDouble(v.trim()) < 1;
    private static final Predicate<String> UNIT_INTERVAL = v -> isDouble(v) && Double.parseDouble(v.trim()) >= 0
            && Double.parseDouble(v.trim()) <= 1;
    private static final Predicate<String> BOOLEAN = v -> v.trim().equalsIgnoreCase("true")
            || v.trim().equalsIgnoreCase("false");
    private static final Predicate<String> LONG = v -> {
        try {
            Long.parseLong(v.trim());
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    };
    private static final Predicate<String> WIDTHS = v -> v.trim().isEmpty()
            || Arrays.stream(v.split(",")).allMatch(POSITIVE_INT);

    static {
        key("data.format", null, "one of sample, idx, libsvm, csv, parquet, synthetic, synthetic-sparse",
                "where the examples come from: the bundled Fashion-MNIST sample, a folder of (gzipped) IDX files, "
                        + "a LIBSVM, CSV or Parquet path, generated regression data, or generated wide sparse "
                        + "classification data",
                choice("sample", "idx", "libsvm", "csv", "parquet", "synthetic", "synthetic-sparse"));
        key("data.path", "", "a path (local, hdfs://, …)",
                "the training data; for idx a folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz",
                ANY);
        key("data.test.path", "", "a path, or empty",
                "separate test data in the same format (for idx, the folder's t10k files are used when empty)", ANY);
        key("data.label.column", "label", "a column name", "label column of csv and parquet data", ANY);
        key("data.feature.columns", "", "comma-separated column names, or empty",
                "feature columns of csv and parquet data; empty for every column but the label (csv) or a "
                        + "Vector column named features (parquet)", ANY);
        key("data.libsvm.numFeatures", "0", "an integer >= 0", "features of libsvm data (the largest index); "
                + "0 = found by a pass over the training data", NON_NEGATIVE_INT);
        key("data.csv.header", "true", "true or false", "whether csv files start with a header line", BOOLEAN);
        key("data.scale", "none", "none or standard", "standard: scale every feature to unit variance "
                + "(Spark's StandardScaler, fitted on the training rows)", choice("none", "standard"));
        key("data.synthetic.rows", "100000", "an integer > 0", "rows of synthetic data", POSITIVE_INT);
        key("data.synthetic.features", "20", "an integer > 0", "features of synthetic data", POSITIVE_INT);
        key("data.synthetic.nonZeros", "40", "an integer > 0", "non-zero features per row of synthetic-sparse "
                + "data", POSITIVE_INT);
        key("data.synthetic.noise", "0.1", "a number >= 0", "noise of synthetic data's label", NON_NEGATIVE_DOUBLE);
        key("split.test", "0.2", "a fraction in [0, 1)",
                "share of the data held out as the test set when there is no separate test data", FRACTION);
        key("split.validation", "0", "a fraction in [0, 1)",
                "share of the training data held out for validation (early stopping, per-epoch metrics)", FRACTION);
        key("split.seed", "7", "an integer", "seed of the random splits", LONG);
        key("model.type", null, "one of mlp-classifier, mlp-regressor, ridge", "what to train",
                choice("mlp-classifier", "mlp-regressor", "ridge"));
        key("model.hidden", java.util.stream.IntStream.of(MlpSettings.defaultHiddenLayers()).mapToObj(Integer::toString)
                .collect(java.util.stream.Collectors.joining(",")), "comma-separated widths > 0, or empty",
                "hidden layers of an MLP", WIDTHS);
        key("model.activation", MlpSettings.DEFAULT_ACTIVATION, "one of relu, tanh, sigmoid",
                "hidden activation of an MLP",
                choice("relu", "tanh", "sigmoid"));
        // the training settings: defaults from MlpSettings (the MLPs') and RidgeSettings, one row each
        MlpSettings mlp = MlpSettings.defaults();
        RidgeSettings ridge = RidgeSettings.defaults();
        setting("train.optimizer", mlp.optimizer(), "one of " + String.join(", ", Optimizer.Kind.names()),
                "update rule (MLPs; ridge sgd runs " + ridge.optimizer() + ")", choice(Optimizer.Kind.names()),
                (b, v) -> b.optimizer(v), null);
        setting("train.stepSize", str(mlp.stepSize()), "a number > 0", "step size (ridge sgd: "
                + str(ridge.stepSize()) + " unless set)", POSITIVE_DOUBLE,
                (b, v) -> b.stepSize(parseDouble(v)), (b, v) -> b.stepSize(parseDouble(v)));
        setting("train.stepDecay", str(mlp.stepDecay()), "a number >= 0",
                "inverse-time decay d of the step size with stepSchedule inverse (the default), stepSize / (1 + d·t) "
                + "at update t; 0 = constant (MLPs)",
                NON_NEGATIVE_DOUBLE, (b, v) -> b.stepDecay(parseDouble(v)), null);
        setting("train.momentum", str(mlp.momentum()), "a number in [0, 1)", "momentum of the momentum and nesterov "
                + "rules", FRACTION, (b, v) -> b.momentum(parseDouble(v)), null);
        setting("train.batchSize", str(mlp.batchSize()), "an integer >= 0", "examples per update; 0 = full batch "
                + "(MLPs)", NON_NEGATIVE_INT, (b, v) -> b.batchSize(parseInt(v)), null);
        setting("train.localSteps", MlpSettings.localStepsName(mlp.localSteps()), "auto or an integer > 0",
                "mini-batch steps each shard takes between two merges; 1 = synchronous; auto = picked from the data, "
                + "shards, batch and network before training (MLPs)", v -> v.trim().equalsIgnoreCase("auto")
                        || POSITIVE_INT.test(v), (b, v) -> b.localSteps(v), null);
        setting("train.outerStepSize", str(mlp.outerStepSize()), "a number > 0", "step of the outer update from "
                + "the shards' mean delta, with localSteps > 1 (MLPs)", POSITIVE_DOUBLE,
                (b, v) -> b.outerStepSize(parseDouble(v)), null);
        setting("train.outerMomentum", str(mlp.outerMomentum()), "a number in [0, 1)", "outer Nesterov momentum, "
                + "with localSteps > 1; 0 = averaging (MLPs)", FRACTION, (b, v) -> b.outerMomentum(parseDouble(v)), null);
        setting("train.precision", mlp.precision().lowerName(), "float64 or float32", "float32: shards and GEMMs "
                + "in single precision, half the cached bytes; sums and weights stay float64 (MLPs, ridge sgd)",
                choice("float64", "float32"), (b, v) -> b.precision(v), (b, v) -> b.precision(v));
        setting("train.sparseThreshold", str(mlp.sparseThreshold()), "a number in [0, 1]", "blocks whose "
                + "fraction of non-zero features is below this are packed sparse; 0 = always dense (MLPs, ridge)",
                UNIT_INTERVAL, (b, v) -> b.sparseThreshold(parseDouble(v)), (b, v) -> b.sparseThreshold(parseDouble(v)));
        setting("train.stepSchedule", mlp.stepSchedule(), "one of " + String.join(", ", StepSchedule.Kind.names()),
                "shape of the step size after the warm-up: inverse is stepSize / (1 + stepDecay·t), constant when "
                + "stepDecay is 0; step multiplies by stepDropFactor every stepDropEpochs epochs; cosine falls to "
                + "stepFloor·stepSize at the last epoch (MLPs)", choice(StepSchedule.Kind.names()),
                (b, v) -> b.stepSchedule(v), null);
        setting("train.warmupSteps", str(mlp.warmupSteps()), "an integer >= 0", "updates of linear warm-up before "
                + "the schedule starts; 0 = none (MLPs)", NON_NEGATIVE_INT, (b, v) -> b.warmupSteps(parseInt(v)), null);
        setting("train.stepFloor", str(mlp.stepFloor()), "a number in [0, 1)", "lowest step as a fraction of "
                + "stepSize: where cosine ends, a lower bound of inverse and step (MLPs)", FRACTION,
                (b, v) -> b.stepFloor(parseDouble(v)), null);
        setting("train.stepDropEpochs", str(mlp.stepDropEpochs()), "an integer > 0", "period of the step schedule "
                + "in epochs (MLPs)", POSITIVE_INT, (b, v) -> b.stepDropEpochs(parseInt(v)), null);
        setting("train.stepDropFactor", str(mlp.stepDropFactor()), "a number in (0, 1]", "factor of the step "
                + "schedule (MLPs)", v -> POSITIVE_DOUBLE.test(v) && parseDouble(v) <= 1,
                (b, v) -> b.stepDropFactor(parseDouble(v)), null);
        setting("train.dropout", str(mlp.dropout()), "a number in [0, 1)", "rate at which hidden units are "
                + "dropped in training (inverted dropout); 0 = off (MLPs)", FRACTION, (b, v) -> b.dropout(parseDouble(v)),
                null);
        setting("train.clipNorm", str(mlp.clipNorm()), "a number >= 0", "largest global norm of an update's "
                + "gradient, scaled down to it when larger; 0 = off (MLPs)", NON_NEGATIVE_DOUBLE,
                (b, v) -> b.clipNorm(parseDouble(v)), null);
        setting("train.classWeights", mlp.classWeights(), "none, balanced, or numbers >= 0 separated by commas",
                "per-class factors of the example weights in training; balanced = n / (k·n_c) (mlp-classifier)",
                v -> {
                    try {
                        ClassWeights.parse(v);
                        return true;
                    } catch (IllegalArgumentException e) {
                        return false;
                    }
                }, (b, v) -> b.classWeights(v), null);
        setting("train.labelSmoothing", str(mlp.labelSmoothing()), "a number in [0, 1)", "ε: cross-entropy "
                + "targets (1 − ε)·y + ε/K in training; 0 = off (mlp-classifier)", FRACTION,
                (b, v) -> b.labelSmoothing(parseDouble(v)), null);
        setting("train.maxEpochs", str(mlp.maxEpochs()), "an integer > 0", "epochs at most (ridge sgd: "
                + ridge.maxEpochs() + " unless set)", POSITIVE_INT,
                (b, v) -> b.maxEpochs(parseInt(v)), (b, v) -> b.maxEpochs(parseInt(v)));
        setting("train.tol", str(mlp.tol()), "a number >= 0",
                "stop when the epoch loss changes less than this, relatively (MLPs)",
                NON_NEGATIVE_DOUBLE, (b, v) -> b.tol(parseDouble(v)), null);
        setting("train.regParam", str(mlp.regParam()), "a number >= 0", "ridge penalty λ", NON_NEGATIVE_DOUBLE,
                (b, v) -> b.regParam(parseDouble(v)), (b, v) -> b.regParam(parseDouble(v)));
        setting("train.blockSize", str(mlp.blockSize()), "an integer > 0", "examples per block (ridge: "
                + ridge.blockSize() + " unless set)", POSITIVE_INT,
                (b, v) -> b.blockSize(parseInt(v)), (b, v) -> b.blockSize(parseInt(v)));
        setting("train.aggregationDepth", str(mlp.aggregationDepth()), "an integer > 0",
                "how many partial results reach the driver: about partitions^(1/depth)", POSITIVE_INT,
                (b, v) -> b.aggregationDepth(parseInt(v)), (b, v) -> b.aggregationDepth(parseInt(v)));
        setting("train.numShards", str(mlp.numShards()), "an integer >= 0", "cached partitions of the training data, "
                + "one task each per round; input with more partitions is coalesced without a shuffle; 0 = Spark's "
                + "default parallelism (MLPs)", NON_NEGATIVE_INT, (b, v) -> b.numShards(parseInt(v)), null);
        setting("train.seed", str(mlp.seed()), "an integer", "seed of the initial weights and batch order", LONG,
                (b, v) -> b.seed(Long.parseLong(v)), (b, v) -> b.seed(Long.parseLong(v)));
        setting("train.patience", str(mlp.patience()), "an integer >= 0",
                "early stopping: epochs without a lower validation loss (needs split.validation > 0); 0 = off",
                NON_NEGATIVE_INT, (b, v) -> b.patience(parseInt(v)), null);
        setting("ridge.fitIntercept", str(ridge.fitIntercept()), "true or false",
                "fit an unpenalised intercept (model.type ridge)", BOOLEAN, null,
                (b, v) -> b.fitIntercept(parseBoolean(v)));
        setting("ridge.standardization", str(ridge.standardization()), "true or false",
                "penalise standardised coefficients (ridge)", BOOLEAN, null,
                (b, v) -> b.standardization(parseBoolean(v)));
        setting("ridge.solver", ridge.solver().name().toLowerCase(Locale.ROOT), "normal or sgd",
                "closed form or gradient descent (ridge)", choice("normal", "sgd"), null, (b, v) -> b.solver(v));
        key("checkpoint.dir", "", "a path, or empty", "folder for training checkpoints (MLPs); empty for none", ANY);
        key("checkpoint.every", "1", "an integer > 0", "epochs between checkpoints", POSITIVE_INT);
        key("resume", "false", "true or false", "continue from the newest complete checkpoint in checkpoint.dir; "
                + "the result is bit-identical to an uninterrupted run", BOOLEAN);
        key("spark.master", "local[*]", "a Spark master URL",
                "used when the job is not launched by spark-submit (which sets its own)", ANY);
        key("spark.partitions", "0", "an integer >= 0", "partitions of the training data; 0 = Spark's default "
                + "parallelism", NON_NEGATIVE_INT);
        key("output.dir", null, "a path", "folder for the model, metrics.json and history.csv", ANY);
        key("output.overwrite", "false", "true or false", "replace an existing output folder", BOOLEAN);
        key("output.onnx", "false", "true or false", "also write the fitted pipeline as model.onnx (its standard "
                + "scaling included; README, ONNX export)", BOOLEAN);
    }

    private final Map<String, String> values;
    private final Map<String, String> sparkConf;
    private final java.util.Set<String> given;

    private JobConfig(Map<String, String> values, Map<String, String> sparkConf, java.util.Set<String> given) {
        this.values = values;
        this.sparkConf = sparkConf;
        this.given = given;
    }

    /** The README's reference row for {@code key}: name, default (or "required" / "empty"), form, meaning. */
    public static String readmeRow(Key key) {
        String value = key.defaultValue() == null ? "required"
                : key.defaultValue().isEmpty() ? "empty" : "`" + key.defaultValue() + "`";
        return "| `" + key.name() + "` | " + value + " | " + key.form() + " | " + key.doc() + " |";
    }

    /** Whether {@code key} was given in the file (rather than taken from its default). */
    public boolean isSet(String key) {
        return given.contains(key);
    }

    /**
     * Reads and checks a {@code .properties} file.
     *
     * @throws IllegalArgumentException naming the file and the first problem
     */
    public static JobConfig load(Path file) {
        List<String> repeated = new ArrayList<>();
        // Properties keeps the last of a repeated key without a word; a config that says model.type twice
        // must not silently train the second
        Properties p = new Properties() {
            private static final long serialVersionUID = 1L;

            @Override
            public synchronized Object put(Object key, Object value) {
                if (containsKey(key) && !repeated.contains(key)) {
                    repeated.add((String) key);
                }
                return super.put(key, value);
            }
        };
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config " + file + " is not a valid .properties file: "
                    + e.getMessage(), e);
        }
        if (!repeated.isEmpty()) {
            String key = repeated.get(0);
            String lines;
            try {
                lines = linesOf(file, key);
            } catch (IOException e) {
                lines = "unknown";
            }
            throw new IllegalArgumentException(file + ": key " + key + " is given more than once (lines " + lines
                    + "): keep one");
        }
        try {
            return parse(p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks properties: no unknown keys, every required key present, every value of its form.
     *
     * @throws IllegalArgumentException naming the key and the expected form
     */
    public static JobConfig parse(Properties properties) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> spark = new TreeMap<>();
        for (String name : new TreeMap<>(Collections.unmodifiableMap(toMap(properties))).keySet()) {
            String value = properties.getProperty(name);
            if (name.startsWith(SPARK_CONF_PREFIX) && name.length() > SPARK_CONF_PREFIX.length()) {
                spark.put(name.substring(SPARK_CONF_PREFIX.length()), value.trim());
                continue;
            }
            Key key = KEYS.get(name);
            if (key == null) {
                throw new IllegalArgumentException("unknown key '" + name + "'; did you mean '" + nearest(name) + "'?");
            }
            if (!key.valid().test(value)) {
                throw new IllegalArgumentException("key " + name + ": expected " + key.form() + ", found '" + value
                        + "'");
            }
            values.put(name, value.trim());
        }
        java.util.Set<String> given = new java.util.HashSet<>(values.keySet());
        for (Key key : KEYS.values()) {
            if (!values.containsKey(key.name())) {
                if (key.defaultValue() == null) {
                    throw new IllegalArgumentException("missing required key " + key.name() + " (" + key.form() + ")");
                }
                values.put(key.name(), key.defaultValue());
            }
        }
        JobConfig config = new JobConfig(values, spark, given);
        config.checkCombinations();
        return config;
    }

    private void checkCombinations() {
        String format = string("data.format");
        if (Arrays.asList("idx", "libsvm", "csv", "parquet").contains(format) && string("data.path").isEmpty()) {
            throw new IllegalArgumentException("data.format " + format + " needs data.path (a path)");
        }
        if (bool("resume") && string("checkpoint.dir").isEmpty()) {
            throw new IllegalArgumentException("resume=true needs checkpoint.dir (a path)");
        }
        if (integer("train.patience") > 0 && real("split.validation") == 0) {
            throw new IllegalArgumentException("train.patience " + integer("train.patience")
                    + " needs split.validation > 0 (a fraction in [0, 1))");
        }
        if (format.equals("synthetic") && !string("model.type").equals("ridge")
                && !string("model.type").equals("mlp-regressor")) {
            throw new IllegalArgumentException("data.format synthetic makes regression data: model.type must be "
                    + "ridge or mlp-regressor, found " + string("model.type"));
        }
        if (format.equals("synthetic-sparse") && !string("model.type").equals("mlp-classifier")) {
            throw new IllegalArgumentException("data.format synthetic-sparse makes two-class data: model.type must "
                    + "be mlp-classifier, found " + string("model.type"));
        }
        if (format.equals("synthetic-sparse")
                && 4L * integer("data.synthetic.nonZeros") > integer("data.synthetic.features")) {
            throw new IllegalArgumentException("data.synthetic.nonZeros " + integer("data.synthetic.nonZeros")
                    + " is more than a quarter of data.synthetic.features " + integer("data.synthetic.features")
                    + ": synthetic-sparse data is sparse");
        }
        // the settings' own checks (ranges and combinations the keys' forms do not cover), before Spark starts
        if (string("model.type").equals("ridge")) {
            ridgeSettings();
        } else {
            mlpSettings();
        }
    }

    /** The 1-based numbers of the lines of {@code file} that set {@code key}, joined by " and ". */
    private static String linesOf(Path file, String key) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> found = new ArrayList<>();
        boolean continued = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).stripLeading();
            boolean startsKey = !continued && line.startsWith(key)
                    && (line.length() == key.length() || "=: \t\f".indexOf(line.charAt(key.length())) >= 0);
            if (startsKey) {
                found.add(Integer.toString(i + 1));
            }
            // a line ending in an odd number of backslashes continues on the next
            int slashes = 0;
            for (int k = line.length() - 1; k >= 0 && line.charAt(k) == '\\'; k--) {
                slashes++;
            }
            continued = !line.startsWith("#") && !line.startsWith("!") && slashes % 2 == 1;
        }
        return String.join(" and ", found);
    }

    /** The value of {@code key}, trimmed. */
    public String string(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no such key " + key);
        }
        return v;
    }

    public int integer(String key) {
        return Integer.parseInt(string(key));
    }

    public long longValue(String key) {
        return Long.parseLong(string(key));
    }

    public double real(String key) {
        return Double.parseDouble(string(key));
    }

    public boolean bool(String key) {
        return Boolean.parseBoolean(string(key).toLowerCase(Locale.ROOT));
    }

    /** A comma-separated list of integers; empty for none. */
    public int[] integers(String key) {
        String v = string(key);
        return v.isEmpty() ? new int[0] : Arrays.stream(v.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    }

    /** A comma-separated list of names; empty for none. */
    public List<String> names(String key) {
        String v = string(key);
        List<String> out = new ArrayList<>();
        if (!v.isEmpty()) {
            for (String s : v.split(",")) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /** Settings for Spark, from the {@code spark.conf.*} keys. */
    public Map<String, String> sparkConf() {
        return Collections.unmodifiableMap(sparkConf);
    }

    /** Every setting with its value (defaults included), for reports. */
    public Map<String, String> values() {
        return Collections.unmodifiableMap(values);
    }

    private static Map<String, String> toMap(Properties p) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) {
            m.put(name, p.getProperty(name));
        }
        return m;
    }

    private static void key(String name, String defaultValue, String form, String doc, Predicate<String> valid) {
        KEYS.put(name, new Key(name, defaultValue, form, doc, valid, null, null));
    }

    private static void setting(String name, String defaultValue, String form, String doc, Predicate<String> valid,
                                BiConsumer<MlpSettings.Builder, String> mlp,
                                BiConsumer<RidgeSettings.Builder, String> ridge) {
        KEYS.put(name, new Key(name, defaultValue, form, doc, valid, mlp, ridge));
    }

    /**
     * The MLP's training settings: {@link MlpSettings}' defaults with every {@code train.*} key that was
     * given in the file.
     *
     * @throws IllegalArgumentException naming the setting out of its range
     */
    public MlpSettings mlpSettings() {
        return given(MlpSettings.builder(), Key::mlp).build();
    }

    /**
     * The ridge settings: {@link RidgeSettings}' defaults with every key of the ridge that was given in the
     * file (so that an unset key means the same for the job as for the estimator, where the ridge's
     * defaults differ from the MLP's).
     *
     * @throws IllegalArgumentException naming the setting out of its range
     */
    public RidgeSettings ridgeSettings() {
        return given(RidgeSettings.builder(), Key::ridge).build();
    }

    /** {@code builder} with the value of every key given in the file that {@code target} maps onto it. */
    private <B> B given(B builder, java.util.function.Function<Key, BiConsumer<B, String>> target) {
        for (Key key : KEYS.values()) {
            BiConsumer<B, String> set = target.apply(key);
            if (set != null && given.contains(key.name())) {
                set.accept(builder, string(key.name()));
            }
        }
        return builder;
    }

    private static double parseDouble(String v) {
        return Double.parseDouble(v.trim());
    }

    private static int parseInt(String v) {
        return Integer.parseInt(v.trim());
    }

    private static boolean parseBoolean(String v) {
        return Boolean.parseBoolean(v.trim().toLowerCase(Locale.ROOT));
    }

    /** A default as the config file would spell it: {@code 0.001}, {@code 1.0E-6} → {@code 1e-6}, {@code 0.0} → {@code 0}. */
    private static String str(Object value) {
        if (value instanceof Double) {
            double d = (Double) value;
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                return Long.toString((long) d);
            }
            String text = Double.toString(d);
            int e = text.indexOf('E');
            if (e < 0) {
                return text;
            }
            String mantissa = text.substring(0, e);
            return (mantissa.endsWith(".0") ? mantissa.substring(0, mantissa.length() - 2) : mantissa) + "e"
                    + text.substring(e + 1);
        }
        return String.valueOf(value);
    }

    private static Predicate<String> choice(String... options) {
        return v -> Arrays.asList(options).contains(v.trim().toLowerCase(Locale.ROOT));
    }

    private static boolean isInt(String v) {
        try {
            Integer.parseInt(v.trim());
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean isDouble(String v) {
        try {
            return Double.isFinite(Double.parseDouble(v.trim()));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The known key with the smallest edit distance to {@code name}. */
    static String nearest(String name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : KEYS.keySet()) {
            int d = editDistance(name.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}
