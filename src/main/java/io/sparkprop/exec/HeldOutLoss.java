package io.sparkprop.exec;

import java.io.Serializable;

import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.util.Internal;

/**
 * The held-out (validation) loss: loss and accuracy sums of one shard under the shipped parameters (forward passes only), and their
 * merge: what a validation pass returns.
 */
@Internal
public final class HeldOutLoss implements Serializable {
    private static final long serialVersionUID = 1L;

    double lossSum;
    double correctWeight;
    double weightSum;

    /**
     * Whether accuracy means something for {@code spec}: a classifier's output — softmax (largest output
     * at the target's class), or sigmoid (one unit thresholded at 0.5, or the largest of several). An
     * identity output is a regression: it has no accuracy, reported as absent (NaN), not as 1.0.
     */
    public static boolean hasAccuracy(NetworkSpec spec) {
        Activation out = spec.outputActivation();
        return out == Activation.SOFTMAX || out == Activation.SIGMOID;
    }

    /** The sums over every shard of {@code data} at {@code at}, merged in the fixed order. */
    public static HeldOutLoss of(PackedData data, Parameters at, GemmChoice gemm) {
        // parameters are replaced, never mutated, so shipping them needs no copy of their own; a few sums a
        // shard: the driver merges them all (depth 1), with no shuffle stage
        return data.onShards(at, shipped -> new OfShard(shipped, gemm),
                partials -> OrderedTreeAggregate.aggregate(partials, data.partitions(), 1, HeldOutLoss::mergeInPlace));
    }

    /** {@code Σ w_i C_i / Σ w_i}. */
    public double meanLoss() {
        return lossSum / weightSum;
    }

    /** The accuracy, or NaN where it means nothing ({@link #hasAccuracy}). */
    public double accuracy(NetworkSpec spec) {
        return hasAccuracy(spec) ? correctWeight / weightSum : Double.NaN;
    }

    /** {@code this ← this + other}; returns {@code this}. */
    public HeldOutLoss mergeInPlace(HeldOutLoss other) {
        lossSum += other.lossSum;
        correctWeight += other.correctWeight;
        weightSum += other.weightSum;
        return this;
    }

    /** The executor side: every block of the shard, forward passes only. */
    static final class OfShard extends ShardTask<HeldOutLoss> {
        private static final long serialVersionUID = 1L;

        OfShard(Shipped parameters, GemmChoice backend) {
            super(parameters, backend, null);
        }

        @Override
        boolean hasWork(Shard shard) {
            return shard.numBlocks() > 0;
        }

        @Override
        HeldOutLoss run(Shard shard, Parameters at, BackpropKernel kernel) {
            BackpropKernel.Weights weights = kernel.load(at);
            HeldOutLoss e = new HeldOutLoss();
            double[] correct = new double[1];
            int[] order = new int[shard.numBlocks()];
            for (int k = 0; k < order.length; k++) {
                order[k] = k;
            }
            try (Shard.Blocks blocks = shard.read(order, 0, order.length)) {
                while (blocks.hasNext()) {
                    Shard.Block b = blocks.next();
                    e.lossSum += kernel.evaluate(weights, b.features(), b.targets(), b.weights(), correct);
                }
                readFromDisk(blocks.diskBytes());
            }
            e.correctWeight = correct[0];
            e.weightSum = shard.weightSum();
            return e;
        }
    }
}
