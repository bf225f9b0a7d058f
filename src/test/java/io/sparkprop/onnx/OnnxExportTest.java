package io.sparkprop.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.sparkprop.linalg.Precision;
import io.sparkprop.ml.MlpClassificationModel;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.linalg.Vectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The graph without Spark: every activation, and a model whose weights go to a file of their own. */
class OnnxExportTest {
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(5).dense(7, Activation.RELU)
            .dense(6, Activation.SIGMOID).dense(4, Activation.IDENTITY).dense(3, Activation.TANH)
            .dense(4, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    private static double[][] rows() {
        SplittableRandom random = new SplittableRandom(2);
        double[][] x = new double[9][5];
        for (double[] row : x) {
            for (int j = 0; j < row.length; j++) {
                row[j] = 3 * random.nextGaussian();
            }
        }
        return x;
    }

    /** ONNX Runtime's probabilities for {@link #rows()} from the model at {@code path}. */
    private static double[][] probabilities(String path) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(path, new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, rows());
             OrtSession.Result result = session.run(Map.of("features", input))) {
            return (double[][]) result.get("probability").get().getValue();
        }
    }

    private static void assertLikeTheModel(Parameters p, double[][] probabilities) {
        MlpClassificationModel model = MlpClassificationModel.fromParameters(p);
        double[][] x = rows();
        for (int i = 0; i < x.length; i++) {
            double[] expected = model.predictProbability(Vectors.dense(x[i])).toArray();
            for (int k = 0; k < expected.length; k++) {
                assertEquals(expected[k], probabilities[i][k], 1e-12, "row " + i + " class " + k);
            }
        }
    }

    /** Relu, sigmoid, identity (no node) and tanh hidden layers, a softmax head: as the model computes them. */
    @Test
    void everyActivationIsTheModelsOwn() throws Exception {
        Parameters p = Parameters.initialise(SPEC, 7);
        String path = dir.resolve("all.onnx").toString();
        OnnxExport.writeNetwork(SPEC, p, Precision.FLOAT64, OnnxExport.Head.CLASSIFIER, null, path,
                new Configuration());
        assertLikeTheModel(p, probabilities(path));
    }

    /**
     * Weights above the threshold are written to {@code <file>.data} and named by the initialisers (ONNX's external
     * data), which ONNX Runtime reads; an export below the threshold to the same path removes the stale file.
     */
    @Test
    void largeWeightsGoToAFileOfTheirOwn() throws Exception {
        Parameters p = Parameters.initialise(SPEC, 8);
        String path = dir.resolve("external.onnx").toString();
        OnnxExport.write(OnnxExport.network(SPEC, p, Precision.FLOAT64, OnnxExport.Head.CLASSIFIER, null), path,
                new Configuration(), 0);
        Path data = dir.resolve("external.onnx.data");
        assertEquals(8L * SPEC.parameterCount(), Files.size(data));
        OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(Path.of(path)));
        for (OnnxMl.TensorProto t : m.getGraph().getInitializerList()) {
            assertEquals(OnnxMl.TensorProto.DataLocation.EXTERNAL, t.getDataLocation(), t.getName());
            assertTrue(t.getRawData().isEmpty(), t.getName());
        }
        assertLikeTheModel(p, probabilities(path));

        OnnxExport.writeNetwork(SPEC, p, Precision.FLOAT64, OnnxExport.Head.CLASSIFIER, null, path,
                new Configuration());
        assertFalse(Files.exists(data), "the earlier export's weights are removed");
        assertLikeTheModel(p, probabilities(path));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains(".tmp-")), "no temporary file left");
        }
    }
}
