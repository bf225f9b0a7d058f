package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;

/**
 * The parts of one round's fixed cost, measured with no compute: S tasks over a cached RDD of S
 * partitions, each part the median of {@code reps} jobs.
 * <ul>
 *   <li>{@code job}: a job whose tasks do nothing and return nothing (scheduling, task launch, completion);</li>
 *   <li>{@code broadcast}: the same with a fresh broadcast of {@code double[P]} created, read by every task
 *       and destroyed, minus {@code job};</li>
 *   <li>{@code result}: the same with every task returning a {@code double[P]} made on the executor and the
 *       driver summing them in partition order, minus {@code job};</li>
 *   <li>{@code round}: the trainer's own round on S one-example shards (history median).</li>
 * </ul>
 */
final class RoundCost {
    /** One measured point, milliseconds. */
    record Point(String master, int parallelism, long parameters, int shards, double job, double broadcast,
                 double result, double round) {
        double parts() {
            return job + broadcast + result;
        }
    }

    private RoundCost() {
    }

    /** A network of about {@code p} parameters: {@code d}-{@code h}-10 with {@code d = h = ⌈√p⌉}-ish. */
    static NetworkSpec network(long p) {
        int width = (int) Math.max(4, Math.round(Math.sqrt(p)));
        return NetworkSpec.builder().input(width).dense(width, Activation.RELU).dense(1, Activation.IDENTITY).build();
    }

    static Point measure(JavaSparkContext sc, String master, int parallelism, long p, int shards, int reps) {
        JavaRDD<Integer> rdd = sc.parallelize(range(shards), shards).cache();
        rdd.count();
        int size = (int) p;
        double[] job = new double[reps];
        double[] bc = new double[reps];
        double[] result = new double[reps];
        for (int r = -2; r < reps; r++) { // two warm-up jobs of each kind
            long t0 = System.nanoTime();
            rdd.mapPartitionsWithIndex(new Nothing(), true).collect();
            long t1 = System.nanoTime();
            Broadcast<double[]> b = sc.broadcast(new double[size]);
            rdd.mapPartitionsWithIndex(new Read(b), true).collect();
            b.destroy();
            long t2 = System.nanoTime();
            List<double[]> parts = rdd.mapPartitionsWithIndex(new Make(size), true).collect();
            double[] sum = new double[size];
            for (double[] part : parts) {
                for (int i = 0; i < size; i++) {
                    sum[i] += part[i];
                }
            }
            long t3 = System.nanoTime();
            if (r >= 0) {
                job[r] = (t1 - t0) / 1e6;
                bc[r] = (t2 - t1) / 1e6;
                result[r] = (t3 - t2) / 1e6;
            }
        }
        rdd.unpersist(true);
        double j = median(job);
        NetworkSpec spec = network(p);
        List<Example> tiny = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            tiny.add(Example.of(new double[spec.inputSize()], 0.0));
        }
        TrainingResult t = new Trainer(spec, MlpSettings.builder().optimizer("sgd").stepSize(1e-3).batchSize(0)
                .maxEpochs(reps + 3).tol(0).numShards(shards).build()).fit(sc.parallelize(tiny, shards));
        double round = medianOf(t.history().iterations().subList(3, t.history().iterations().size()));
        return new Point(master, parallelism, spec.parameterCount(), shards, j, median(bc) - j, median(result) - j,
                round);
    }

    /**
     * The marginal cost of one more task in a job, ms: empty jobs of 64 and of 8 tasks, the difference of
     * their medians over 56. On a machine whose driver and executors share the cores this is an upper bound
     * of the driver's own cost per task (serialise, launch, take the status).
     */
    static double perTaskMillis(JavaSparkContext sc, int reps) {
        double[] medians = new double[2];
        int[] tasks = {8, 64};
        for (int i = 0; i < tasks.length; i++) {
            JavaRDD<Integer> rdd = sc.parallelize(range(tasks[i]), tasks[i]).cache();
            rdd.count();
            double[] t = new double[reps];
            for (int r = -2; r < reps; r++) {
                long t0 = System.nanoTime();
                rdd.mapPartitionsWithIndex(new Nothing(), true).collect();
                if (r >= 0) {
                    t[r] = (System.nanoTime() - t0) / 1e6;
                }
            }
            rdd.unpersist(true);
            medians[i] = median(t);
        }
        return Math.max(0, (medians[1] - medians[0]) / (tasks[1] - tasks[0]));
    }

    private static List<Integer> range(int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }

    static double medianOf(List<IterationRecord> its) {
        return median(its.stream().mapToDouble(IterationRecord::millis).toArray());
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static final class Nothing implements Function2<Integer, Iterator<Integer>, Iterator<Integer>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<Integer> call(Integer partition, Iterator<Integer> it) {
            return Collections.emptyIterator();
        }
    }

    private static final class Read implements Function2<Integer, Iterator<Integer>, Iterator<Integer>> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<double[]> b;

        Read(Broadcast<double[]> b) {
            this.b = b;
        }

        @Override
        public Iterator<Integer> call(Integer partition, Iterator<Integer> it) {
            return Collections.singletonList(b.value().length).iterator();
        }
    }

    private static final class Make implements Function2<Integer, Iterator<Integer>, Iterator<double[]>> {
        private static final long serialVersionUID = 1L;
        private final int size;

        Make(int size) {
            this.size = size;
        }

        @Override
        public Iterator<double[]> call(Integer partition, Iterator<Integer> it) {
            double[] v = new double[size];
            v[0] = partition;
            return Collections.singletonList(v).iterator();
        }
    }
}
