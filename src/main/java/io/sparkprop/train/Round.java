package io.sparkprop.train;

/**
 * One round of training: broadcast the parameters → work on every shard → merge the shards' results in
 * the fixed order → one driver-side update of the {@link ModelState}. {@link SynchronousRound} is the
 * one-gradient-step round of the README's "one iteration"; a round of several local steps between merges
 * is another implementation of this interface.
 */
interface Round {
    /**
     * Runs round {@code t} (0-based) of epoch {@code epoch} from {@code state}, updating it unless the
     * round's slice holds no example of positive weight, or the round diverged (then {@code state} still
     * holds the last finite parameters).
     */
    Outcome run(ModelState state, int epoch, int t);

    /** The driver's state for a run of these rounds, starting at {@code initial}. */
    ModelState newState(io.sparkprop.nn.Parameters initial);

    /** The mini-batch updates round {@code t} of an epoch covers: 1 for a synchronous round. */
    int stepsIn(int t);

    /** Bytes the rounds have read from the executors' disks so far (0 when every block is in memory). */
    default long diskBytesRead() {
        return 0;
    }

    /** The executors' GEMM fingerprints that differed from the driver's, each once. */
    java.util.List<String> otherFingerprints();

    /**
     * What one round did.
     *
     * @param objective  {@code J_t(θ_t)}: the mean loss of the round's examples plus the penalty, at the
     *                   parameters the round started from; NaN when nothing was learnt
     * @param weightSum  {@code Σw} of the round's examples (0: no update was applied)
     * @param examples   examples read
     * @param blocks     blocks read
     * @param stepSize   the step size the update used (the schedule's value at the round's first update)
     * @param gradientNorm with {@code clipNorm > 0}: the largest global norm of the round's gradients before
     *                   clipping; NaN otherwise
     * @param clipped    updates of the round whose gradient was clipped
     * @param divergence why the round could not update (a non-finite loss, gradient or result), or {@code null}
     */
    record Outcome(double objective, double weightSum, long examples, long blocks, double stepSize,
                   double gradientNorm, long clipped, String divergence) {
        boolean updated() {
            return weightSum > 0 && divergence == null;
        }
    }
}
