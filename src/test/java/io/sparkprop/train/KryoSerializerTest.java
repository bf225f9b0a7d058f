package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.sparkprop.data.GeneratedRows;
import io.sparkprop.data.SparseSynthetic;
import io.sparkprop.exec.SlicedExchange;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.ridge.RidgeSolver;
import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * {@code spark.serializer = KryoSerializer}, which Spark's tuning guide recommends, carries what the trainer ships
 * (gradient sums, a local-steps round's sums, parameters and state, a sparse first layer's rows, the sliced
 * exchange's parts and slices) as Java serialisation does: the same fits in a session with each serialiser end
 * with the same bits. Before these classes named Kryo's {@code JavaSerializer} as theirs, Kryo wrote their fields
 * and skipped the transient ones their hooks write, and a synchronous fit died of a {@code NullPointerException}.
 */
class KryoSerializerTest {
    /** Final parameters (and ridge coefficients) of every fit, in order. */
    private static List<double[]> fits(Map<String, String> settings) {
        SparkSession spark = SparkTestSupport.start(KryoSerializerTest.class, settings);
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Dataset<Row> dense = GeneratedRows.frame(spark, 3000, 3, r -> {
                double[] x = new double[20];
                double s = 0;
                for (int i = 0; i < x.length; i++) {
                    x[i] = r.nextDouble();
                    s += (i % 3 - 1) * x[i];
                }
                return RowFactory.create(Vectors.dense(x), s > 0 ? 1.0 : 0.0);
            }).repartition(2).cache();
            NetworkSpec spec = NetworkSpec.builder().input(20).dense(8, Activation.RELU).dense(2, Activation.SOFTMAX)
                    .build();
            List<double[]> out = new ArrayList<>();
            for (String k : new String[] {"1", "4"}) {
                out.add(new Trainer(spec).setOptimizer(Optimizer.adam(0.01)).setBatchSize(64).setMaxEpochs(2)
                        .setLocalSteps(k).setSeed(1).fit(dense, "features", "label").parameters().values());
            }
            // the sliced exchange: parts through a shuffle, slices collected
            out.add(SparkTestSupport.withLocalProperty(sc, SlicedExchange.EXCHANGE_KEY, "sliced",
                    () -> new Trainer(spec).setOptimizer(Optimizer.adam(0.01)).setBatchSize(0).setMaxEpochs(3)
                            .setLocalSteps(1).setSeed(1).fit(dense, "features", "label").parameters().values()));
            // a wide sparse first layer kept as rows: touched-row sums and the rows' broadcasts
            Dataset<Row> sparse = SparseSynthetic.frame(spark, 2000, 1 << 12, 10, 1.0, 5).repartition(2).cache();
            NetworkSpec wide = NetworkSpec.builder().input(1 << 12).dense(8, Activation.RELU)
                    .dense(2, Activation.SOFTMAX).build();
            out.add(new Trainer(wide).setOptimizer(Optimizer.adam(0.01)).setBatchSize(256).setMaxEpochs(2).setSeed(1)
                    .fit(sparse, "features", "label").parameters().values());
            out.add(new RidgeSolver().setRegParam(0.1).fit(dense, "features", "label", null).coefficients(0));
            return out;
        } finally {
            spark.stop();
        }
    }

    @Test
    void kryoCarriesEveryFitToTheBitsOfJavaSerialisation() {
        List<double[]> java = fits(Map.of());
        List<double[]> kryo = fits(Map.of("spark.serializer", "org.apache.spark.serializer.KryoSerializer"));
        String[] names = {"synchronous", "local steps", "sliced exchange", "sparse rows", "ridge"};
        assertEquals(names.length, kryo.size());
        for (int i = 0; i < names.length; i++) {
            assertArrayEquals(java.get(i), kryo.get(i), 0.0, names[i]);
        }
    }
}
