package io.sparkprop.train;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;

import io.sparkprop.data.Shard;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.nn.kernel.TrainingTerms;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * The executor side of a round of local steps ({@link LocalStepsRound}): the partition's shard starts
 * from the broadcast parameters {@code θ} and takes the round's mini-batch steps {@code j = first … last−1}
 * of the epoch on its own, step {@code j} reading the shard's slice {@code j} of the epoch's seeded block
 * order ({@link BlockSchedule}) — its share of global batch {@code j}, the blocks synchronous SGD would read
 * for update {@code j}. Each step is the configured rule on the shard's mean gradient plus the ridge term,
 *
 * <pre>  g_{p,j} = (1/W_{p,j}) Σ_{i ∈ slice} w_i ∇C_i(θ_p) + λW(θ_p),   θ_p ← rule(θ_p, clip(g_{p,j}), η_{u+j−first})</pre>
 *
 * with the rule's state (velocity, Adam's moments) fresh for the round and the step size following the
 * run's schedule at update {@code u + j − first}. The shard returns {@code W_p (θ_p − θ)} with
 * {@code W_p = Σ_j W_{p,j}}, so that the ordered merge yields the example-weighted mean delta. The result
 * depends on the shard, the broadcast and the round alone: a re-run task computes the same bits.
 */
final class LocalSteps implements Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, LocalSteps.Sum>>> {
    private static final long serialVersionUID = 1L;

    private final Shipped parameters;
    private final GemmChoice gemm;
    private final CollectionAccumulator<String> fingerprints;
    private final Optimizer rule;
    private final StepSchedule schedule;
    private final TrainingTerms terms;
    private final double clipNorm;
    private final double regParam;
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
    LocalSteps(Shipped parameters, GemmChoice gemm, CollectionAccumulator<String> fingerprints,
               Optimizer rule, StepSchedule schedule, TrainingTerms terms, double clipNorm, double regParam,
               long seed, int epoch, int first, int last, int stepsPerEpoch,
               long updatesBefore, LongAccumulator blocksRead) {
        this.parameters = parameters;
        this.gemm = gemm;
        this.fingerprints = fingerprints;
        this.rule = rule;
        this.schedule = schedule;
        this.terms = terms;
        this.clipNorm = clipNorm;
        this.regParam = regParam;
        this.seed = seed;
        this.epoch = epoch;
        this.first = first;
        this.last = last;
        this.stepsPerEpoch = stepsPerEpoch;
        this.updatesBefore = updatesBefore;
        this.blocksRead = blocksRead;
    }

    @Override
    public Iterator<Tuple2<Integer, Sum>> call(Integer partition, Iterator<Shard> shards) {
        if (!shards.hasNext()) {
            return Collections.emptyIterator();
        }
        Shard shard = shards.next();
        int blocks = shard.numBlocks();
        if (BlockSchedule.sliceStart(blocks, first, stepsPerEpoch) == BlockSchedule.sliceEnd(blocks, last - 1,
                stepsPerEpoch)) {
            return Collections.emptyIterator();
        }
        int[] order = BlockSchedule.order(seed, epoch, shard.partition(), blocks, true, new int[blocks]);
        Parameters start = parameters.value();
        BackpropKernel kernel = KernelCache.forTraining(start.spec(), gemm, shard.precision(), fingerprints);
        Parameters theta = start.copy();
        Optimizer.Updater updater = rule.newUpdater(theta.size());
        GradientSum step = new GradientSum(start.spec());
        Sum sum = new Sum();
        long applied = 0;
        long read = 0;
        for (int j = first; j < last && sum.divergence == null; j++) {
            int from = BlockSchedule.sliceStart(blocks, j, stepsPerEpoch);
            int to = BlockSchedule.sliceEnd(blocks, j, stepsPerEpoch);
            if (from == to) {
                continue;
            }
            step.resetInPlace();
            BackpropKernel.Weights weights = kernel.load(theta); // float32: θ_p rounded afresh every step
            long update = updatesBefore + j - first;
            for (int pos = from; pos < to; pos++) {
                int k = order[pos];
                kernel.lossAndGradient(weights, shard.features(k), shard.targets(k), shard.weights(k), step, terms,
                        TrainingTerms.blockKey(seed, update, shard.partition(), k));
            }
            read += to - from;
            sum.count += step.count();
            double w = step.weightSum();
            if (w == 0) {
                continue; // only zero weights in this slice: nothing to learn from
            }
            double meanLoss = step.lossSum() / w;
            Parameters g = step.gradient();
            if (!Double.isFinite(meanLoss) || !g.isFinite()) {
                sum.divergence = (Double.isFinite(meanLoss) ? "the gradient" : "the loss")
                        + " is not finite on shard " + partition + " at local step " + (j - first + 1)
                        + " (loss " + meanLoss + ")";
                break;
            }
            g.scaleInPlace(1.0 / w);
            double objective = meanLoss;
            if (regParam > 0) {
                g.axpyWeightsInPlace(regParam, theta); // ∇(λ/2 ‖W‖²) = λW
                objective += 0.5 * regParam * theta.weightNormSquared();
            }
            sum.objectiveSum += w * objective;
            sum.weightSum += w;
            double norm = ShardRound.clip(g.values(), clipNorm);
            if (norm > clipNorm) {
                sum.clipped++;
            }
            if (norm > sum.largestNorm) {
                sum.largestNorm = norm;
            }
            updater.update(theta.values(), g.values(), schedule.at(update), applied++);
            if (!theta.isFinite()) {
                sum.divergence = "local step " + (j - first + 1) + " on shard " + partition
                        + " made the parameters non-finite";
            }
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
        }
        return Collections.singletonList(new Tuple2<>(partition, sum)).iterator();
    }

    /**
     * What a round's shards sum: {@code Σ_p W_p Δ_p}, {@code Σ W_{p,j} J_{p,j}} (each step's objective at the
     * parameters it started from, penalty included), {@code Σ W_{p,j}}, examples read, and the first
     * divergence in merge order.
     */
    static final class Sum implements Serializable {
        private static final long serialVersionUID = 1L;

        double[] weightedDelta;
        double objectiveSum;
        double weightSum;
        long count;
        /** Local steps whose gradient was clipped, and the largest norm before clipping (NaN: not computed). */
        long clipped;
        double largestNorm = Double.NaN;
        String divergence;

        /** {@code this ← this + other}, in the fixed merge order; returns {@code this}. */
        Sum mergeInPlace(Sum other) {
            if (divergence == null) {
                divergence = other.divergence;
            }
            if (weightedDelta == null) {
                weightedDelta = other.weightedDelta;
            } else if (other.weightedDelta != null) {
                double[] a = weightedDelta;
                double[] b = other.weightedDelta;
                for (int i = 0; i < a.length; i++) {
                    a[i] += b[i];
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
    }
}
