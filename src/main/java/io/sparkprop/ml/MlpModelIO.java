package io.sparkprop.ml;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

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
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsReader.Metadata;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The model directory format, version {@value #FORMAT_VERSION}: Spark ML's {@code metadata/} (class,
 * uid, Spark version, params as JSON — what {@code PipelineModel.load} reads), {@code sparkprop.json}
 * (format version and the network: input size, layers with width and activation, loss, and whether
 * the label was a vector), and {@code data/}, Parquet with one row per layer: index, rows, columns,
 * {@code W_l} row-major and {@code b_l} as arrays of doubles. No Java serialisation.
 */
final class MlpModelIO {
    static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final StructType LAYER_SCHEMA = new StructType().add("layer", DataTypes.IntegerType)
            .add("rows", DataTypes.IntegerType).add("cols", DataTypes.IntegerType)
            .add("weights", DataTypes.createArrayType(DataTypes.DoubleType, false))
            .add("biases", DataTypes.createArrayType(DataTypes.DoubleType, false));

    private MlpModelIO() {
    }

    /** Writes {@code sparkprop.json} into the model folder {@code path}. */
    static void writeJson(SparkSession spark, String path, ObjectNode root) {
        root.put("formatVersion", FORMAT_VERSION);
        Path json = new Path(path, "sparkprop.json");
        try (OutputStream out = json.getFileSystem(spark.sparkContext().hadoopConfiguration()).create(json, true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + json + ": " + e.getMessage(), e);
        }
    }

    /** A new JSON object for {@link #writeJson}. */
    static ObjectNode newJson() {
        return JSON.createObjectNode();
    }

    /** Spark ML's metadata of the model folder {@code path}, checked to be of class {@code type}. */
    static Metadata readMetadata(SparkSession spark, String path, Class<?> type) {
        try {
            return DefaultParamsReader$.MODULE$.loadMetadata(path, spark, type.getName());
        } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, and undeclared
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                    + new Path(path, "metadata") + " is missing or not Spark ML metadata of a " + type.getName()
                    + " (" + e.getMessage() + ")", e);
        }
    }

    /** {@code sparkprop.json} of the model folder {@code path}, checked to be of this format version. */
    static JsonNode readJson(SparkSession spark, String path, Class<?> type) {
        Path jsonPath = new Path(path, "sparkprop.json");
        JsonNode root;
        try {
            FileSystem fs = jsonPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
            try (InputStream in = fs.open(jsonPath)) {
                root = JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
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
    static List<Row> readData(SparkSession spark, String path, Class<?> type) {
        Path dataPath = new Path(path, "data");
        try {
            return spark.read().parquet(dataPath.toString()).collectAsList();
        } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, and undeclared
            throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": cannot "
                    + "read the weights in " + dataPath + " (" + e.getMessage() + ")", e);
        }
    }

    /** Creates a model of the loaded kind from its uid, parameters and whether its label was a vector. */
    interface Factory<M> {
        M create(String uid, Parameters parameters, boolean vectorLabel);
    }

    static final class Writer extends MLWriter {
        private final MlpModel<?> model;
        private final boolean vectorLabel;

        Writer(MlpModel<?> model, boolean vectorLabel) {
            this.model = model;
            this.vectorLabel = vectorLabel;
        }

        @Override
        public void saveImpl(String path) {
            SparkSession spark = sparkSession();
            DefaultParamsWriter$.MODULE$.saveMetadata(model, path, spark);
            NetworkSpec spec = model.spec();
            ObjectNode root = newJson();
            root.put("inputSize", spec.inputSize());
            ArrayNode layers = root.putArray("layers");
            for (int l = 0; l < spec.numLayers(); l++) {
                layers.addObject().put("width", spec.width(l)).put("activation", spec.activation(l).lowerName());
            }
            root.put("loss", spec.loss().name().toLowerCase(java.util.Locale.ROOT));
            root.put("vectorLabel", vectorLabel);
            writeJson(spark, path, root);
            Parameters p = model.parameters;
            List<Row> rows = new ArrayList<>();
            for (int l = 0; l < spec.numLayers(); l++) {
                rows.add(RowFactory.create(l, spec.width(l), spec.fanIn(l), p.weightValues(l).clone(),
                        p.biasValues(l).clone()));
            }
            spark.createDataFrame(rows, LAYER_SCHEMA).repartition(1).write().parquet(new Path(path, "data").toString());
        }
    }

    static final class Reader<M extends MlpModel<M>> extends MLReader<M> {
        private final Class<M> type;
        private final Factory<M> factory;

        Reader(Class<M> type, Factory<M> factory) {
            this.type = type;
            this.factory = factory;
        }

        @Override
        public M load(String path) {
            SparkSession spark = sparkSession();
            Metadata metadata = readMetadata(spark, path, type);
            JsonNode root = readJson(spark, path, type);
            Path jsonPath = new Path(path, "sparkprop.json");
            NetworkSpec spec;
            try {
                NetworkSpec.Builder b = NetworkSpec.builder().input(root.get("inputSize").asInt());
                for (JsonNode layer : root.get("layers")) {
                    b.dense(layer.get("width").asInt(), Activation.fromName(layer.get("activation").asText()));
                }
                spec = b.loss(Loss.fromName(root.get("loss").asText())).build();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                        + jsonPath + " does not describe a valid network (" + e.getMessage() + ")", e);
            }
            Path dataPath = new Path(path, "data");
            Parameters parameters = Parameters.zeros(spec);
            List<Row> rows = readData(spark, path, type);
            boolean[] seen = new boolean[spec.numLayers()];
            for (Row r : rows) {
                int l = r.getInt(r.fieldIndex("layer"));
                List<Double> w = r.getList(r.fieldIndex("weights"));
                List<Double> bias = r.getList(r.fieldIndex("biases"));
                if (l < 0 || l >= spec.numLayers() || seen[l] || w.size() != spec.width(l) * spec.fanIn(l)
                        || bias.size() != spec.width(l)) {
                    throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                            + dataPath + " has a layer " + l + " that does not fit the network " + spec);
                }
                seen[l] = true;
                for (int i = 0; i < w.size(); i++) {
                    parameters.weightValues(l)[i] = w.get(i);
                }
                for (int i = 0; i < bias.size(); i++) {
                    parameters.biasValues(l)[i] = bias.get(i);
                }
            }
            for (int l = 0; l < seen.length; l++) {
                if (!seen[l]) {
                    throw new IllegalArgumentException("cannot load " + type.getSimpleName() + " from " + path + ": "
                            + dataPath + " has no weights for layer " + l);
                }
            }
            M model = factory.create(metadata.uid(), parameters, root.path("vectorLabel").asBoolean(false));
            metadata.getAndSetParams(model, scala.Option.empty());
            return model;
        }
    }
}
