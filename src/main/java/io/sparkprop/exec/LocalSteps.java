package io.sparkprop.exec;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.nn.kernel.TrainingTerms;
import io.sparkprop.optim.GradientStep;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import io.sparkprop.util.DoubleArrays;
import io.sparkprop.util.Internal;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The executor side of a round of local steps: the partition's shard starts from the shipped parameters
 * {@code θ} and takes the round's mini-batch steps {@code j = first … last−1} of the epoch on its own, step
 * {@code j} reading the shard's slice {@code j} of the epoch's seeded block order ({@link BlockSchedule}) — its
 * share of global batch {@code j}, the blocks synchronous SGD would read for update {@code j}. Each step is the
 * run's {@link GradientStep} on the shard's sums of that slice,
 *
 * <pre>  g_{p,j} = (1/W_{p,j}) Σ_{i ∈ slice} w_i ∇C_i(θ_p) + λW(θ_p),   θ_p ← rule(θ_p, clip(g_{p,j}), η_{u+j−first})</pre>
 *
 * with the step size following the run's schedule at update {@code u + j − first}. The rule's state
 * (velocity, Adam's moments {@code m}, {@code v}) starts from the one shipped with {@code θ} — the run's
 * state, the shards' weighted mean at the end of the previous round — and Adam's bias correction continues
 * from the updates before the round, as a synchronous update's does. A fresh state every round would make
 * each round's first Adam step {@code η·g/|g|}, a sign step of full size for every parameter, and rebuild the
 * moments from a handful of steps: on the quick start, rounds of 4 ended 2 points of test accuracy lower
 * (0.8201 against 0.8401 with the state continued; README, "Choosing localSteps"). The shard returns
 * {@code W_p (θ_p − θ)} and {@code W_p s_p} for its final state {@code s_p}, with {@code W_p = Σ_j W_{p,j}}, so
 * that the ordered merge yields the example-weighted means. The result depends on the shard, the shipped parameters and state and the round
 * alone: a re-run task computes the same bits.
 */
@Internal
public final class LocalSteps extends ShardTask<LocalSteps.Sum> {
    private static final long serialVersionUID = 1L;

    private final Optimizer rule;
    private final StepSchedule schedule;
    private final GradientStep step;
    private final TrainingTerms terms;
    private final long seed;
    private final int epoch;
    private final int first;
    private final int last;
    private final int stepsPerEpoch;
    private final long updatesBefore;
    private final LongAccumulator blocksRead;

    /**
     * @param first, last   the round's steps {@code [first, last)} among the epoch's {@code stepsPerEpoch}
     * @param updatesBefore updates the run applied before this round (the step-size schedule's index, and with
     *                      the step's offset the dropout masks' update)
     */
    public LocalSteps(Shipped parameters, GemmChoice gemm, CollectionAccumulator<String> fingerprints,
                      Optimizer rule, StepSchedule schedule, GradientStep step, TrainingTerms terms, long seed,
                      int epoch, int first, int last, int stepsPerEpoch, long updatesBefore,
                      LongAccumulator blocksRead) {
        super(parameters, gemm, fingerprints);
        this.rule = rule;
        this.schedule = schedule;
        this.step = step;
        this.terms = terms;
        this.seed = seed;
        this.epoch = epoch;
        this.first = first;
        this.last = last;
        this.stepsPerEpoch = stepsPerEpoch;
        this.updatesBefore = updatesBefore;
        this.blocksRead = blocksRead;
    }

    @Override
    boolean hasWork(Shard shard) {
        int blocks = shard.numBlocks();
        return BlockSchedule.sliceStart(blocks, first, stepsPerEpoch)
                != BlockSchedule.sliceEnd(blocks, last - 1, stepsPerEpoch);
    }

    @Override
    Sum run(Shard shard, Parameters start, BackpropKernel kernel) {
        int blocks = shard.numBlocks();
        int partition = shard.partition();
        int[] order = BlockSchedule.order(seed, epoch, partition, blocks, true, new int[blocks]);
        Parameters theta = start.copy();
        Optimizer.Updater updater = rule.newUpdater(theta.size());
        updater.copyStateFrom(shippedState());
        GradientSum slice = new GradientSum(start.spec());
        Sum sum = new Sum();
        long applied = 0;
        long read = 0;
        // one read of the round's blocks, in the order its steps take them (their slices are consecutive
        // positions of the epoch's order), so that the disk reads run ahead across the steps
        try (Shard.Blocks stream = shard.read(order, BlockSchedule.sliceStart(blocks, first, stepsPerEpoch),
                BlockSchedule.sliceEnd(blocks, last - 1, stepsPerEpoch))) {
            for (int j = first; j < last && sum.divergence == null; j++) {
                int from = BlockSchedule.sliceStart(blocks, j, stepsPerEpoch);
                int to = BlockSchedule.sliceEnd(blocks, j, stepsPerEpoch);
                if (from == to) {
                    continue;
                }
                slice.resetInPlace();
                long update = updatesBefore + j - first;
                // float32: θ_p rounded afresh every step
                addGradients(kernel, kernel.load(theta), shard, stream, to - from, slice, terms, seed, update);
                read += to - from;
                sum.count += slice.count();
                double w = slice.weightSum();
                // the state's age: the run's updates before the round and this shard's steps since
                GradientStep.Result r = step.apply(slice, theta, updater, schedule.at(update), updatesBefore + applied);
                switch (r.status()) {
                    case EMPTY:
                        continue; // only zero weights in this slice: nothing to learn from
                    case LOSS_NOT_FINITE:
                    case GRADIENT_NOT_FINITE:
                        sum.divergence = r.status().description() + " on shard " + partition + " at local step "
                                + (j - first + 1) + " (loss " + r.meanLoss() + ")";
                        continue;
                    default:
                        break;
                }
                applied++;
                sum.objectiveSum += w * r.objective();
                sum.weightSum += w;
                if (r.clipped()) {
                    sum.clipped++;
                }
                // NaN is "not computed" (no clipping), never larger than a norm that was
                if (!Double.isNaN(r.gradientNorm()) && !(sum.largestNorm >= r.gradientNorm())) {
                    sum.largestNorm = r.gradientNorm();
                }
                if (r.status() == GradientStep.Status.PARAMETERS_NOT_FINITE) {
                    sum.divergence = r.status().description() + " at local step " + (j - first + 1) + " on shard "
                            + partition;
                }
            }
            readFromDisk(stream.diskBytes());
        }
        blocksRead.add(read);
        if (sum.weightSum > 0 && sum.divergence == null) {
            // W_p (θ_p − θ): θ_p's copy becomes the weighted delta in place
            double[] d = theta.values();
            double[] s = start.values();
            for (int i = 0; i < d.length; i++) {
                d[i] = sum.weightSum * (d[i] - s[i]);
            }
            sum.weightedDelta = d;
            // W_p s_p: the state arrays scaled in place
            double[][] state = updater.state();
            for (double[] a : state) {
                for (int i = 0; i < a.length; i++) {
                    a[i] *= sum.weightSum;
                }
            }
            sum.weightedState = state;
        }
        return sum;
    }

    /**
     * What a round's shards sum: {@code Σ_p W_p Δ_p}, {@code Σ W_{p,j} J_{p,j}} (each step's objective at the
     * parameters it started from, penalty included), {@code Σ W_{p,j}}, examples read, and the first
     * divergence in merge order.
     */
    @Internal
    @DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
    public static final class Sum implements Serializable {
        private static final long serialVersionUID = 1L;

        /** Written as raw bytes ({@link DoubleArrays}): 3P doubles a task, every round. */
        private transient double[] weightedDelta;
        private transient double[][] weightedState;
        private double objectiveSum;
        private double weightSum;
        private long count;
        /** Local steps whose gradient was clipped, and the largest norm before clipping (NaN: not computed). */
        private long clipped;
        private double largestNorm = Double.NaN;
        private String divergence;

        /** {@code Σ_p W_p (θ_p − θ)} (live), or {@code null} when no shard learnt or one diverged. */
        public double[] weightedDelta() {
            return weightedDelta;
        }

        /**
         * {@code Σ_p W_p s_p} over the shards' final optimiser states (live; no arrays for plain SGD), or
         * {@code null} when no shard learnt or one diverged.
         */
        public double[][] weightedState() {
            return weightedState;
        }

        /** {@code Σ W_{p,j} J_{p,j}}: the steps' objectives weighted by their batches' weights. */
        public double objectiveSum() {
            return objectiveSum;
        }

        /** {@code Σ W_{p,j}} over the steps that updated. */
        public double weightSum() {
            return weightSum;
        }

        /** Examples read. */
        public long count() {
            return count;
        }

        /** Local steps whose gradient was clipped. */
        public long clipped() {
            return clipped;
        }

        /** The largest gradient norm before clipping; NaN when not computed. */
        public double largestNorm() {
            return largestNorm;
        }

        /** Why a shard's steps stopped (the first in merge order), or {@code null}. */
        public String divergence() {
            return divergence;
        }

        /** {@code this ← this + other}, in the fixed merge order; returns {@code this}. */
        public Sum mergeInPlace(Sum other) {
            if (divergence == null) {
                divergence = other.divergence;
            }
            if (weightedDelta == null) {
                weightedDelta = other.weightedDelta;
                weightedState = other.weightedState;
            } else if (other.weightedDelta != null) {
                add(weightedDelta, other.weightedDelta);
                for (int s = 0; s < weightedState.length; s++) {
                    add(weightedState[s], other.weightedState[s]);
                }
            }
            clipped += other.clipped;
            // NaN is "not computed": a shard without steps of positive weight has no norm to contribute
            if (!Double.isNaN(other.largestNorm) && !(largestNorm >= other.largestNorm)) {
                largestNorm = other.largestNorm;
            }
            objectiveSum += other.objectiveSum;
            weightSum += other.weightSum;
            count += other.count;
            return this;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            out.writeBoolean(weightedDelta != null);
            if (weightedDelta != null) {
                DoubleArrays.write(out, weightedDelta);
                DoubleArrays.writeEach(out, weightedState);
            }
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            if (in.readBoolean()) {
                weightedDelta = DoubleArrays.read(in);
                weightedState = DoubleArrays.readEach(in, 2); // a rule keeps at most two state arrays
            }
        }

        private static void add(double[] a, double[] b) {
            for (int i = 0; i < a.length; i++) {
                a[i] += b[i];
            }
        }
    }
}
