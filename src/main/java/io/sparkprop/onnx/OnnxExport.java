package io.sparkprop.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.Internal;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a trained network or linear model as an ONNX model (opset 13, IR version 8), so that it can be served
 * without Spark (ONNX Runtime, or any runtime that reads ONNX).
 *
 * <p>The graph computes what {@code transform} computes, for a batch of rows at once. Its input is
 * {@value #INPUT} ({@code [N, n₀]}, {@code N} any number of rows), optionally centred and scaled first
 * ({@link Scaling}, a pipeline's standard scaler). Layer {@code l} is one {@code Gemm} node,
 * {@code z_l = h_{l−1} W_lᵀ + b_l} ({@code transB = 1}, as {@code W_l} is stored {@code n_l × n_{l−1}}, row by row),
 * followed by its activation ({@code Relu}, {@code Sigmoid}, {@code Tanh}, {@code Softmax} on axis 1; none for
 * identity). Outputs: a classifier's {@value #RAW} (the logits {@code z_L}, {@code [N, classes]}),
 * {@value #PROBABILITY} ({@code Softmax} of them) and {@value #PREDICTION} ({@code ArgMax} on axis 1, the class
 * index as int64, {@code [N]}; the first of equal largest values, as {@code transform}); a regressor's or a ridge
 * model's {@value #PREDICTION}, {@code [N, outputs]}.
 *
 * <p>Element type: float64 ({@code DOUBLE}) or float32 ({@code FLOAT}), the weights rounded to the nearest float.
 * The weights are the graph's initialisers, stored as little-endian raw bytes. One protobuf message holds at most
 * 2 GB; a model whose weights take more than {@link #EXTERNAL_DATA_BYTES} is written with its initialisers in a
 * file of their own beside the model ({@code <model file>.data}, ONNX's external data: each initialiser names
 * that file, its offset and length), which ONNX Runtime reads when it loads the model from its path.
 */
@Internal
public final class OnnxExport {
    /** The input's name. */
    public static final String INPUT = "features";
    /** A classifier's logits. */
    public static final String RAW = "rawPrediction";
    /** A classifier's class probabilities. */
    public static final String PROBABILITY = "probability";
    /** A classifier's class index (int64), or a regressor's outputs. */
    public static final String PREDICTION = "prediction";
    /**
     * Weights above this many bytes go to a file of their own: the rest of the model is small, and one protobuf
     * message may not exceed 2 GB (2^31 − 1 bytes).
     */
    public static final long EXTERNAL_DATA_BYTES = 1L << 30;
    static final int OPSET = 13;
    static final long IR_VERSION = 8;

    /**
     * A feature scaling before the model, as Spark's {@code StandardScalerModel} computes it: {@code (x − mean)·scale}
     * ({@code mean} {@code null} when it does not centre, {@code scale} {@code null} when it does not scale); it
     * becomes a {@code Sub} and a {@code Mul} node, in the same order and arithmetic.
     */
    public record Scaling(double[] mean, double[] scale) {
    }

    /** What the graph's last layer feeds. */
    public enum Head {
        /** Logits, their softmax and the argmax. */
        CLASSIFIER,
        /** The output layer's activations. */
        REGRESSOR
    }

    private OnnxExport() {
    }

    /**
     * Writes {@code parameters} of their network as an ONNX model to {@code path} (any Hadoop file system; an
     * existing file is replaced), in {@code precision}.
     */
    public static void writeNetwork(NetworkSpec spec, Parameters parameters, Precision precision, Head head,
                                    Scaling scaling, String path, Configuration conf) throws IOException {
        write(network(spec, parameters, precision, head, scaling), path, conf, EXTERNAL_DATA_BYTES);
    }

    /**
     * Writes the linear model {@code ŷ = W x + b} ({@code w} row-major, {@code outputs × features}) as an ONNX model
     * of one {@code Gemm}, in float64.
     */
    public static void writeLinear(double[] w, int features, double[] b, Scaling scaling, String path,
                                   Configuration conf) throws IOException {
        Builder g = new Builder(Precision.FLOAT64, features);
        String z = g.gemm(0, g.scaled(scaling), w, 0, b.length, features, b, 0);
        g.output(g.identity(z, PREDICTION), b.length);
        write(g, path, conf, EXTERNAL_DATA_BYTES);
    }

    /** The graph of a network; package-private for the tests of the external-data path. */
    static Builder network(NetworkSpec spec, Parameters parameters, Precision precision, Head head,
                           Scaling scaling) {
        Builder g = new Builder(precision, spec.inputSize());
        double[] values = parameters.values();
        String h = g.scaled(scaling);
        for (int l = 0; l < spec.numLayers(); l++) {
            int rows = spec.width(l);
            int cols = spec.fanIn(l);
            h = g.gemm(l, h, values, parameters.weightOffset(l), rows, cols, values, parameters.biasOffset(l));
            boolean last = l == spec.numLayers() - 1;
            if (last && head == Head.CLASSIFIER) {
                // transform's columns: the logits, their softmax, the index of the largest
                String raw = g.identity(h, RAW);
                g.output(raw, rows);
                g.output(g.node("Softmax", raw, PROBABILITY, g.intAttribute("axis", 1)), rows);
                g.outputIndex(g.node("ArgMax", raw, PREDICTION, g.intAttribute("axis", 1),
                        g.intAttribute("keepdims", 0)));
                return g;
            }
            h = g.activation(spec.activation(l), h, last ? PREDICTION : "h" + l);
            if (last) {
                g.output(g.identity(h, PREDICTION), rows);
            }
        }
        return g;
    }

    /**
     * Writes the model; initialisers of more than {@code externalAbove} bytes in all go to {@code path.data}. Both
     * files are written under temporary names beside their places and renamed there when complete, so a failed
     * export leaves no half-written model (nor an earlier export's weights beside a new model).
     */
    static void write(Builder g, String path, Configuration conf, long externalAbove) throws IOException {
        Path file = new Path(path);
        FileSystem fs = file.getFileSystem(conf);
        Path data = new Path(file.getParent(), file.getName() + ".data");
        String unique = java.util.UUID.randomUUID().toString();
        Path fileTemporary = new Path(file.getParent(), "." + file.getName() + ".tmp-" + unique);
        Path dataTemporary = new Path(file.getParent(), "." + data.getName() + ".tmp-" + unique);
        boolean external = g.weightBytes() > externalAbove;
        try {
            if (external) {
                try (OutputStream out = fs.create(dataTemporary, false)) {
                    g.moveInitialisersTo(out, data.getName());
                }
            }
            try (OutputStream out = fs.create(fileTemporary, false)) {
                g.model().writeTo(out);
            }
            for (Path old : new Path[] {file, data}) {
                if (fs.exists(old)) {
                    fs.delete(old, false); // an earlier export's, which would no longer belong to this model
                }
            }
            if ((external && !fs.rename(dataTemporary, data)) || !fs.rename(fileTemporary, file)) {
                throw new IOException("cannot rename the written model to " + file);
            }
        } finally {
            fs.delete(fileTemporary, false);
            fs.delete(dataTemporary, false);
        }
    }

    /** Builds the graph: nodes, initialisers and the typed input and outputs. */
    static final class Builder {
        private final Precision precision;
        private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName("sparkprop");
        private final List<OnnxMl.TensorProto.Builder> initialisers = new ArrayList<>();
        private int nodes;

        Builder(Precision precision, int inputs) {
            this.precision = precision;
            graph.addInput(valueInfo(INPUT, elementType(), inputs));
        }

        private int elementType() {
            return precision == Precision.FLOAT32 ? OnnxMl.TensorProto.DataType.FLOAT_VALUE
                    : OnnxMl.TensorProto.DataType.DOUBLE_VALUE;
        }

        /** The input after {@code scaling} ({@code null}: none): the name of the first layer's input. */
        String scaled(Scaling scaling) {
            String x = INPUT;
            if (scaling == null) {
                return x;
            }
            if (scaling.mean() != null) {
                initialisers.add(tensor("mean", scaling.mean(), 0, scaling.mean().length, scaling.mean().length));
                x = node("Sub", List.of(x, "mean"), "centred");
            }
            if (scaling.scale() != null) {
                initialisers.add(tensor("scale", scaling.scale(), 0, scaling.scale().length, scaling.scale().length));
                x = node("Mul", List.of(x, "scale"), "scaled");
            }
            return x;
        }

        /**
         * {@code input W_lᵀ + b_l} for {@code W_l} row-major {@code rows × cols} from {@code w[wFrom]} and {@code b_l}
         * from {@code b[bFrom]}; returns the output's name.
         */
        String gemm(int layer, String input, double[] w, int wFrom, int rows, int cols, double[] b, int bFrom) {
            String weights = "W" + layer;
            String bias = "b" + layer;
            initialisers.add(tensor(weights, w, wFrom, rows * cols, rows, cols));
            initialisers.add(tensor(bias, b, bFrom, rows, rows));
            return node("Gemm", List.of(input, weights, bias), "z" + layer, intAttribute("transB", 1));
        }

        /** The node of {@code activation} from {@code z} to {@code name} (no node for identity). */
        String activation(Activation activation, String z, String name) {
            switch (activation) {
                case IDENTITY:
                    return z;
                case RELU:
                    return node("Relu", z, name);
                case SIGMOID:
                    return node("Sigmoid", z, name);
                case TANH:
                    return node("Tanh", z, name);
                case SOFTMAX:
                    return node("Softmax", z, name, intAttribute("axis", 1));
                default:
                    throw new IllegalArgumentException("no ONNX operator for activation " + activation);
            }
        }

        /** {@code value} under the name {@code name} (an {@code Identity} node when they differ). */
        String identity(String value, String name) {
            return value.equals(name) ? value : node("Identity", value, name);
        }

        String node(String op, String input, String output, OnnxMl.AttributeProto... attributes) {
            return node(op, List.of(input), output, attributes);
        }

        String node(String op, List<String> inputs, String output, OnnxMl.AttributeProto... attributes) {
            OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(op + "_" + nodes++)
                    .addAllInput(inputs).addOutput(output);
            for (OnnxMl.AttributeProto a : attributes) {
                n.addAttribute(a);
            }
            graph.addNode(n);
            return output;
        }

        OnnxMl.AttributeProto intAttribute(String name, long value) {
            return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT)
                    .setI(value).build();
        }

        /** Declares {@code name} an output of {@code [N, width]} in the graph's element type. */
        void output(String name, int width) {
            graph.addOutput(valueInfo(name, elementType(), width));
        }

        /** Declares {@code name} an output of {@code [N]} int64 (class indices). */
        void outputIndex(String name) {
            graph.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                            .setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE)
                            .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(rows())))));
        }

        private static OnnxMl.TensorShapeProto.Dimension rows() {
            return OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N").build();
        }

        private static OnnxMl.ValueInfoProto valueInfo(String name, int elementType, int width) {
            return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elementType)
                            .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(rows())
                                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(width)))))
                    .build();
        }

        /**
         * A tensor of the {@code length} values from {@code values[from]} with {@code dims}, in the graph's element
         * type, as little-endian raw bytes (one array of them, wrapped, not copied again).
         */
        private OnnxMl.TensorProto.Builder tensor(String name, double[] values, int from, int length, long... dims) {
            long size = (long) length * precision.bytes();
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "the ONNX tensor %s would take "
                        + "%,d bytes, more than one array can hold: export in float32 (half the bytes) or use narrower "
                        + "layers", name, size));
            }
            byte[] raw = new byte[(int) size];
            ByteBuffer bytes = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = from; i < from + length; i++) {
                if (precision == Precision.FLOAT32) {
                    bytes.putFloat((float) values[i]);
                } else {
                    bytes.putDouble(values[i]);
                }
            }
            OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(elementType())
                    .setRawData(UnsafeByteOperations.unsafeWrap(raw));
            for (long d : dims) {
                t.addDims(d);
            }
            return t;
        }

        long weightBytes() {
            long sum = 0;
            for (OnnxMl.TensorProto.Builder t : initialisers) {
                sum += t.getRawData().size();
            }
            return sum;
        }

        /**
         * Writes every initialiser's bytes to {@code out} one after the other and leaves in each only where they
         * are ({@code location}, {@code offset}, {@code length}: ONNX's external data).
         */
        void moveInitialisersTo(OutputStream out, String location) throws IOException {
            long offset = 0;
            for (OnnxMl.TensorProto.Builder t : initialisers) {
                ByteString raw = t.getRawData();
                raw.writeTo(out);
                t.clearRawData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", location))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(raw.size())));
                offset += raw.size();
            }
        }

        private static OnnxMl.StringStringEntryProto entry(String key, String value) {
            return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
        }

        OnnxMl.ModelProto model() {
            OnnxMl.GraphProto.Builder g = graph.clone();
            for (OnnxMl.TensorProto.Builder t : initialisers) {
                g.addInitializer(t);
            }
            return OnnxMl.ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("sparkprop")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                    .setGraph(g).build();
        }
    }
}
