package io.sparkprop.ml;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsReader.Metadata;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.ml.util.ReadWriteUtils$;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The one writer and reader of every model folder, format version {@value #FORMAT_VERSION}: Spark ML's
 * {@code metadata/} (class, uid, Spark version, params as JSON — what {@code PipelineModel.load} reads),
 * {@code sparkprop.json} (the format version and what the model needs to be rebuilt) and {@code data/}
 * (Parquet of plain numbers; when the Spark Connect server's model cache offloads a model to the driver's disk,
 * Spark ML's local file of the same rows). No Java serialisation. A model kind gives what goes into the JSON and the
 * rows ({@link #writer}) and how to rebuild itself from them ({@link #reader}); a missing or damaged part
 * fails the load with the file named. The MLP models write their network into the JSON and one row per
 * layer (index, rows, columns, {@code W_l} row-major, {@code b_l}); the ridge model its sizes and one row
 * per output (index, coefficients, intercept).
 */
final class ModelIO {
    static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final StructType LAYER_SCHEMA = new StructType().add("layer", DataTypes.IntegerType)
            .add("rows", DataTypes.IntegerType).add("cols", DataTypes.IntegerType)
            .add("weights", DataTypes.createArrayType(DataTypes.DoubleType, false))
            .add("biases", DataTypes.createArrayType(DataTypes.DoubleType, false));

    private ModelIO() {
    }

    /** Rebuilds a model of one kind from its folder's parts. */
    interface Decoder<M> {
        /**
         * @param bad makes the exception for a damaged part: {@code cannot load <kind> from <path>: <what>}
         */
        M decode(String uid, String path, JsonNode json, List<Row> data, Function<String, IllegalArgumentException> bad);
    }

    /**
     * A writer of {@code model}'s folder: Spark ML's metadata, {@code sparkprop.json} filled by
     * {@code describe}, and {@code rows} of {@code schema} as {@code data/}.
     */
    static MLWriter writer(Params model, Consumer<ObjectNode> describe, StructType schema, List<Row> rows) {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                DefaultParamsWriter$.MODULE$.saveMetadata(model, path, spark);
                ObjectNode root = JSON.createObjectNode();
                root.put("formatVersion", FORMAT_VERSION);
                describe.accept(root);
                Path json = new Path(path, "sparkprop.json");
                try {
                    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
                    if (localSaving()) {
                        java.nio.file.Files.write(java.nio.file.Paths.get(json.toString()), bytes);
                    } else {
                        try (OutputStream out = json.getFileSystem(spark.sparkContext().hadoopConfiguration())
                                .create(json, true)) {
                            out.write(bytes);
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("cannot write " + json + ": " + e.getMessage(), e);
                }
                // Parquet as a Spark job; in local saving (below) Spark ML's own local file of the rows instead
                ReadWriteUtils$.MODULE$.saveDataFrame(new Path(path, "data").toString(),
                        spark.createDataFrame(rows, schema).repartition(1));
            }
        };
    }

    /**
     * Whether Spark ML is saving or loading to the driver's local disk rather than to the session's file system:
     * the Spark Connect server's model cache does, when it offloads a model ({@code MLWriter.saveToLocal},
     * {@code MLReader.loadFromLocal}); Spark ML's metadata and data helpers follow the same flag.
     */
    private static boolean localSaving() {
        Object state = ReadWriteUtils$.MODULE$.localSavingModeState().get();
        return state instanceof Boolean && (Boolean) state;
    }

    /**
     * The Hadoop configuration files are written with outside Spark ML's writers (ONNX export): the active
     * session's, or the defaults when there is none.
     */
    static org.apache.hadoop.conf.Configuration hadoopConfiguration() {
        scala.Option<SparkSession> active = SparkSession.getActiveSession();
        return active.isDefined() ? active.get().sparkContext().hadoopConfiguration()
                : new org.apache.hadoop.conf.Configuration();
    }

    /** Runs an export, its I/O failure as the unchecked exception Spark ML's {@code save} throws too. */
    static void export(String what, String path, IoAction action) {
        try {
            action.run();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("could not write " + what + " to " + path + ": " + e.getMessage(), e);
        }
    }

    /** An action that may fail with an {@link java.io.IOException}. */
    interface IoAction {
        void run() throws java.io.IOException;
    }

    /** A reader of folders written for models of {@code type}; the params are set from the metadata. */
    static <M extends Params> MLReader<M> reader(Class<M> type, Decoder<M> decoder) {
        return new MLReader<M>() {
            @Override
            public M load(String path) {
                SparkSession spark = sparkSession();
                Metadata metadata = readMetadata(spark, path, type);
                JsonNode root = readJson(spark, path, type);
                List<Row> data = readData(spark, path, type);
                M model = decoder.decode(metadata.uid(), path, root, data,
                        what -> new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path
                                + ": " + what));
                metadata.getAndSetParams(model, scala.Option.empty());
                return model;
            }
        };
    }

    /** Spark ML's metadata of the model folder {@code path}, checked to be of class {@code type}. */
    private static Metadata readMetadata(SparkSession spark, String path, Class<?> type) {
        try {
            return DefaultParamsReader$.MODULE$.loadMetadata(path, spark, type.getName());
        } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, and undeclared
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                    + new Path(path, "metadata") + " is missing or not Spark ML metadata of a " + type.getName()
                    + " (" + e.getMessage() + ")", e);
        }
    }

    /** {@code sparkprop.json} of the model folder {@code path}, checked to be of this format version. */
    private static JsonNode readJson(SparkSession spark, String path, Class<?> type) {
        Path jsonPath = new Path(path, "sparkprop.json");
        JsonNode root;
        try {
            if (localSaving()) {
                root = JSON.readTree(new String(java.nio.file.Files.readAllBytes(
                        java.nio.file.Paths.get(jsonPath.toString())), StandardCharsets.UTF_8));
            } else {
                FileSystem fs = jsonPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
                try (InputStream in = fs.open(jsonPath)) {
                    root = JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": cannot "
                    + "read " + jsonPath + " (" + e.getMessage() + ")", e);
        }
        int version = root.path("formatVersion").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                    + jsonPath + " has sparkprop model format " + version + ", this version reads format "
                    + FORMAT_VERSION);
        }
        return root;
    }

    /** The rows of the Parquet folder {@code data} of the model folder {@code path}. */
    private static List<Row> readData(SparkSession spark, String path, Class<?> type) {
        Path dataPath = new Path(path, "data");
        try {
            return ReadWriteUtils$.MODULE$.loadDataFrame(dataPath.toString(), spark).collectAsList();
        } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, and undeclared
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": cannot "
                    + "read the weights in " + dataPath + " (" + e.getMessage() + ")", e);
        }
    }

    /** Creates an MLP model of the loaded kind from its uid, parameters and whether its label was a vector. */
    interface MlpFactory<M> {
        M create(String uid, Parameters parameters, boolean vectorLabel);
    }

    /** The writer of an MLP model: its network in the JSON, one row per layer. */
    static MLWriter mlpWriter(MlpModel<?> model, boolean vectorLabel) {
        NetworkSpec spec = model.spec();
        Parameters p = model.trained();
        List<Row> rows = new ArrayList<>();
        for (int l = 0; l < spec.numLayers(); l++) {
            rows.add(RowFactory.create(l, spec.width(l), spec.fanIn(l), p.weights(l).values(),
                    p.biases(l).values()));
        }
        return writer(model, root -> {
            root.put("inputSize", spec.inputSize());
            ArrayNode layers = root.putArray("layers");
            for (int l = 0; l < spec.numLayers(); l++) {
                layers.addObject().put("width", spec.width(l)).put("activation", spec.activation(l).lowerName());
            }
            root.put("loss", spec.loss().name().toLowerCase(java.util.Locale.ROOT));
            root.put("vectorLabel", vectorLabel);
        }, LAYER_SCHEMA, rows);
    }

    /** The reader of an MLP model of {@code type}. */
    static <M extends MlpModel<M>> MLReader<M> mlpReader(Class<M> type, MlpFactory<M> factory) {
        return reader(type, (uid, path, root, rows, bad) -> {
            Path jsonPath = new Path(path, "sparkprop.json");
            NetworkSpec spec;
            try {
                NetworkSpec.Builder b = NetworkSpec.builder().input(root.get("inputSize").asInt());
                for (JsonNode layer : root.get("layers")) {
                    b.dense(layer.get("width").asInt(), Activation.fromName(layer.get("activation").asText()));
                }
                spec = b.loss(Loss.fromName(root.get("loss").asText())).build();
            } catch (RuntimeException e) {
                IllegalArgumentException error = bad.apply(jsonPath + " does not describe a valid network ("
                        + e.getMessage() + ")");
                error.initCause(e);
                throw error;
            }
            Path dataPath = new Path(path, "data");
            Parameters parameters = Parameters.zeros(spec);
            boolean[] seen = new boolean[spec.numLayers()];
            for (Row r : rows) {
                int l = r.getInt(r.fieldIndex("layer"));
                List<Double> w = r.getList(r.fieldIndex("weights"));
                List<Double> bias = r.getList(r.fieldIndex("biases"));
                if (l < 0 || l >= spec.numLayers() || seen[l] || w.size() != spec.width(l) * spec.fanIn(l)
                        || bias.size() != spec.width(l)) {
                    throw bad.apply(dataPath + " has a layer " + l + " that does not fit the network " + spec);
                }
                seen[l] = true;
                double[] values = parameters.values();
                for (int i = 0; i < w.size(); i++) {
                    values[parameters.weightOffset(l) + i] = w.get(i);
                }
                for (int i = 0; i < bias.size(); i++) {
                    values[parameters.biasOffset(l) + i] = bias.get(i);
                }
            }
            for (int l = 0; l < seen.length; l++) {
                if (!seen[l]) {
                    throw bad.apply(dataPath + " has no weights for layer " + l);
                }
            }
            return factory.create(uid, parameters, root.path("vectorLabel").asBoolean(false));
        });
    }
}
