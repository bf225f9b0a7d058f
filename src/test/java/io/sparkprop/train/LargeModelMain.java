package io.sparkprop.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.HeapSampler;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * Trains a network of about 5M parameters on 64 shards in {@code local[2]}, in a JVM started with
 * Spark's default driver memory ({@code -Xmx1g}) and Spark's defaults otherwise; prints one
 * {@code result:} line with the aggregation plan, the driver's heap marks and the losses.
 * Run by {@link LargeModelIT}.
 */
public final class LargeModelMain {
    private LargeModelMain() {
    }

    public static void main(String[] args) {
        int partitions = Integer.parseInt(args[0]);
        int rowsPerPartition = Integer.parseInt(args[1]);
        int epochs = Integer.parseInt(args[2]);
        int depth = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        NetworkSpec spec = NetworkSpec.builder().input(1024).dense(2048, Activation.RELU)
                .dense(1536, Activation.RELU).dense(10, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("LargeModelMain")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try (HeapSampler heap = new HeapSampler()) {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                ids.add(i);
            }
            // rows made on the executors from the partition index: 10 classes, each a noisy prototype
            JavaRDD<Example> data = sc.parallelize(ids, partitions).flatMap(p -> {
                Random prototypes = new Random(7);
                double[][] centre = new double[10][1024];
                for (double[] c : centre) {
                    for (int j = 0; j < c.length; j++) {
                        c[j] = prototypes.nextGaussian();
                    }
                }
                Random r = new Random(p);
                List<Example> rows = new ArrayList<>();
                for (int i = 0; i < rowsPerPartition; i++) {
                    int label = r.nextInt(10);
                    double[] x = new double[1024];
                    for (int j = 0; j < x.length; j++) {
                        x[j] = centre[label][j] + r.nextGaussian();
                    }
                    rows.add(Example.of(x, label));
                }
                return rows.iterator();
            });
            heap.reset();
            long start = System.nanoTime();
            TrainingResult result = new Trainer(spec).setOptimizer(Optimizer.adam(1e-4)).setBatchSize(0)
                    .setMaxEpochs(epochs).setTol(0).setNumShards(partitions).setAggregationDepth(depth).fit(data);
            double seconds = (System.nanoTime() - start) / 1e9;
            StringBuilder losses = new StringBuilder();
            for (EpochRecord e : result.history().epochs()) {
                losses.append(losses.length() == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.6f", e.loss()));
            }
            System.out.printf(Locale.ROOT, "result: parameters=%d shards=%d plan=[%s] heapMaxMB=%d "
                            + "peakUsedMB=%d peakLiveMB=%d seconds=%.1f losses=%s%n",
                    spec.parameterCount(), result.numShards(), result.aggregation(),
                    Runtime.getRuntime().maxMemory() >> 20, heap.peak() >> 20, heap.peakAfterGc() >> 20, seconds,
                    losses);
        } finally {
            spark.stop();
        }
    }
}
