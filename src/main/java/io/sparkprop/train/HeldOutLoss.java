package io.sparkprop.train;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;

import io.sparkprop.data.Shard;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

/**
 * The held-out (validation) loss: loss and accuracy sums of one shard under the shipped parameters (forward passes only), and their
 * merge: what a validation pass returns.
 */
final class HeldOutLoss implements Serializable {
    private static final long serialVersionUID = 1L;

    double lossSum;
    double correctWeight;
    double weightSum;

    /**
     * Whether accuracy means something for {@code spec}: a classifier's output — softmax (largest output
     * at the target's class), or sigmoid (one unit thresholded at 0.5, or the largest of several). An
     * identity output is a regression: it has no accuracy, reported as absent (NaN), not as 1.0.
     */
    static boolean hasAccuracy(NetworkSpec spec) {
        Activation out = spec.outputActivation();
        return out == Activation.SOFTMAX || out == Activation.SIGMOID;
    }

    /** The sums over every shard of {@code data} at {@code at}, merged in the fixed order. */
    static HeldOutLoss of(JavaSparkContext sc, PackedData data, Parameters at, GemmChoice gemm) {
        // parameters are replaced, never mutated, so shipping them needs no copy of their own
        try (Shipped bc = Shipped.of(sc, at, data.precision)) {
            JavaPairRDD<Integer, HeldOutLoss> partials = JavaPairRDD.fromJavaRDD(
                    data.shards.mapPartitionsWithIndex(new OfShard(bc, gemm), true));
            // a few sums a shard: the driver merges them all (depth 1), with no shuffle stage
            return OrderedTreeAggregate.aggregate(partials, data.partitions, 1, HeldOutLoss::mergeInPlace);
        }
    }

    double meanLoss() {
        return lossSum / weightSum;
    }

    /** The accuracy, or NaN where it means nothing ({@link #hasAccuracy}). */
    double accuracy(NetworkSpec spec) {
        return hasAccuracy(spec) ? correctWeight / weightSum : Double.NaN;
    }

    HeldOutLoss mergeInPlace(HeldOutLoss other) {
        lossSum += other.lossSum;
        correctWeight += other.correctWeight;
        weightSum += other.weightSum;
        return this;
    }

    /** The executor side: every block of the shard. */
    static final class OfShard implements Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, HeldOutLoss>>> {
        private static final long serialVersionUID = 1L;

        private final Shipped parameters;
        private final GemmChoice backend;

        OfShard(Shipped parameters, GemmChoice backend) {
            this.parameters = parameters;
            this.backend = backend;
        }

        @Override
        public Iterator<Tuple2<Integer, HeldOutLoss>> call(Integer partition, Iterator<Shard> shards) {
            if (!shards.hasNext()) {
                return Collections.emptyIterator();
            }
            Shard shard = shards.next();
            if (shard.numBlocks() == 0) {
                return Collections.emptyIterator();
            }
            Parameters params = parameters.value();
            BackpropKernel kernel = KernelCache.get(params.spec(), backend, shard.precision());
            BackpropKernel.Weights weights = kernel.load(params);
            HeldOutLoss e = new HeldOutLoss();
            double[] correct = new double[1];
            for (int k = 0; k < shard.numBlocks(); k++) {
                e.lossSum += kernel.evaluate(weights, shard.features(k), shard.targets(k), shard.weights(k), correct);
            }
            e.correctWeight = correct[0];
            e.weightSum = shard.weightSum();
            return Collections.singletonList(new Tuple2<>(partition, e)).iterator();
        }
    }
}
