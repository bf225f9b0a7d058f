package io.sparkprop.train;

import java.util.Locale;

import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;

/**
 * What {@code localSteps = auto} becomes: a number of local steps {@code k} picked from what is known before
 * training starts — the network, the precision, the examples, the shards, the batch and the updates an epoch —
 * and never from timings, so that the same data and settings give the same {@code k}, and the same bits, on any
 * run (and a resume picks what the checkpoint's run picked).
 *
 * <p>The rule (README, "Choosing localSteps"). A round of {@code k} steps costs {@code fixed + k·c}: {@code c} is
 * one update's compute on one shard, {@code (B/S)·f / r} ({@code B} the batch, {@code S} the shards, {@code f}
 * the training pass's FLOPs an example, {@code r} a core's nominal rate), and {@code fixed} is the Spark job
 * around it, {@code α + τ·S + 8P(1 + a)·(c_p + c_d·S)} for {@code P} parameters and a rule keeping {@code a}
 * arrays of state, which a round ships with the parameters (a synchronous update ships the parameters alone).
 * {@code k} is the smallest number for which {@code fixed ≤ k·c / 9}, so that, as predicted, at least 90 % of a
 * round is compute (the measured share is lower: a local step also pays its optimiser update and smaller GEMMs,
 * 0.77–0.83 at {@code k = 59} on Fashion-MNIST while the state restarted every round, 0.72 with it carried); at
 * most {@link #maxForShards} — the shards' models drift apart between merges, more the more shards there are — and at most the updates of an epoch (one round an epoch). The epoch's rounds are then made
 * equal ({@code k = ⌈U / ⌈U/k⌉⌉}), and a {@code k} below {@link #MIN_LOCAL_STEPS} is synchronous SGD: rounds of
 * 2 or 3 steps save at most two thirds of the fixed cost, not worth changing what is computed for. A run whose
 * synchronous rounds would cost less than {@link #SHORT_RUN_SECONDS} in all ({@code maxEpochs · U} times the
 * fixed cost with {@code a = 0}) stays synchronous: local steps change what is computed, and there they would
 * save seconds at most.
 *
 * <p>The constants are this project's measurements ({@code jobs/bench scaling}, {@code jobs/bench kernel}) rounded:
 * they decide how far {@code k} moves from 1, not the arithmetic of a step.
 */
final class LocalStepsChoice {
    /** α: a round's latency, an empty Spark job of one wave: 13–18 ms in {@code local[2]}, 15–26 ms on a cluster. */
    static final double ROUND_LATENCY_SECONDS = 0.020;
    /** τ: the driver's cost a task, between 0.67 ms (Ousterhout et al. 2013) and 6.2 ms (measured here). */
    static final double TASK_SECONDS = 0.002;
    /**
     * {@code c_p}: a round's cost a byte of parameters, the broadcast, a task's read of it and its result, and the
     * merge: 4.2 + 4.3 + 10.1 ms/MB in the local-mode fit, 11.6 + 1.3 (+ 14.3 merged) on the cluster.
     */
    static final double SECONDS_PER_PARAMETER_BYTE = 18e-3 / 1e6;
    /** {@code c_d}: the driver's cost a byte of each partial result it takes (2.1 ms/MB on the cluster). */
    static final double DRIVER_SECONDS_PER_PARTIAL_BYTE = 2e-3 / 1e6;
    /**
     * {@code r} in float64: a core's training-pass rate, FLOP/s, with a native BLAS (36–46 GFLOP/s measured here;
     * pure-Java EJML reaches 4, with which the rule's {@code k} is larger than needed, never smaller).
     */
    static final double FLOPS_PER_SECOND_FLOAT64 = 30e9;
    /** float32's GEMMs against float64's: 1.68–2.21× measured; the lower end. */
    static final double FLOAT32_SPEEDUP = 1.7;
    /** The predicted share of a round that is compute the rule asks for: {@code fixed ≤ k·c·(1 − s)/s}. */
    static final double COMPUTE_SHARE = 0.9;
    /** The fewest local steps a round the rule takes; below, synchronous SGD. */
    static final int MIN_LOCAL_STEPS = 4;
    /** A run whose synchronous rounds' fixed costs add up to less than this stays synchronous. */
    static final double SHORT_RUN_SECONDS = 10;

    /** The choice and the figures it came from, for the start-of-fit log. */
    record Choice(int localSteps, double fixedSeconds, double updateSeconds, int cap,
                         double synchronousFixedSeconds) {
        /** The figures in words: {@code localSteps auto = 59 (2 rounds an epoch of 118 updates): …}. */
        String describe(int updatesPerEpoch) {
            String figures = String.format(Locale.ROOT, "a round's fixed cost ~%.0f ms against ~%.2f ms of compute an "
                    + "update on each shard", fixedSeconds * 1e3, updateSeconds * 1e3);
            if (synchronousFixedSeconds < SHORT_RUN_SECONDS) {
                return String.format(Locale.ROOT, "localSteps auto = 1 (synchronous): the synchronous run's rounds cost "
                        + "~%.1f s in all, under %.0f s (%s)", synchronousFixedSeconds, SHORT_RUN_SECONDS, figures);
            }
            if (localSteps == 1) {
                return String.format(Locale.ROOT, "localSteps auto = 1 (synchronous): rounds of fewer than %d steps are "
                        + "not worth changing the arithmetic for (%s; %d updates an epoch)", MIN_LOCAL_STEPS, figures,
                        updatesPerEpoch);
            }
            int rounds = LocalStepsRound.roundsPerEpoch(updatesPerEpoch, localSteps);
            return String.format(Locale.ROOT, "localSteps auto = %d (%d round%s an epoch of %d updates): %s; at most "
                    + "%d with this many shards", localSteps, rounds, rounds == 1 ? "" : "s", updatesPerEpoch, figures,
                    cap);
        }
    }

    private LocalStepsChoice() {
    }

    /**
     * The most local steps between two merges the rule allows with {@code shards} shards: {@code max(4, 128/S)} —
     * 64 for two (where averaging every 64 steps lost no accuracy on Fashion-MNIST, README), 8 for 16 (DL4J's
     * parameter averaging recommends every 5–10 mini-batches; Lin et al. 2020 find local SGD with 16 workers
     * matches mini-batch SGD for a few to 16 local steps), 4 from 32 on.
     */
    static int maxForShards(int shards) {
        return Math.max(4, 128 / Math.max(1, shards));
    }

    /** A round's fixed cost with {@code shards} shards and {@code bytes} shipped to each and back from each. */
    private static double fixedCost(int shards, double bytes) {
        return ROUND_LATENCY_SECONDS + TASK_SECONDS * shards
                + bytes * (SECONDS_PER_PARAMETER_BYTE + DRIVER_SECONDS_PER_PARTIAL_BYTE * shards);
    }

    /** FLOPs of one example's training pass: forward and weight gradients {@code 2M} each, deltas {@code 2(M − n₀n₁)}. */
    static double trainingFlopsPerExample(NetworkSpec spec) {
        double m = spec.multiplyAddsPerExample();
        double first = (double) spec.inputSize() * spec.width(0);
        return 6 * m - 2 * first;
    }

    /**
     * {@code k} for a run of {@code spec} in {@code precision} on {@code shards} shards, {@code batch} examples an
     * update, {@code updatesPerEpoch} updates an epoch and {@code maxEpochs} epochs at most, with an update rule
     * that keeps {@code stateArrays} arrays of state (0 for sgd, 1 for momentum, 2 for Adam): a round of local
     * steps ships them with the parameters and takes them back from every shard.
     */
    static Choice choose(NetworkSpec spec, Precision precision, int shards, int batch, int updatesPerEpoch,
                                int maxEpochs, int stateArrays) {
        int s = Math.max(1, shards);
        double parameterBytes = 8.0 * spec.parameterCount();
        double synchronousRound = fixedCost(s, parameterBytes);
        double fixed = fixedCost(s, parameterBytes * (1 + stateArrays));
        double rate = FLOPS_PER_SECOND_FLOAT64 * (precision == Precision.FLOAT32 ? FLOAT32_SPEEDUP : 1);
        double update = (double) batch / s * trainingFlopsPerExample(spec) / rate;
        int cap = maxForShards(s);
        double synchronous = (double) maxEpochs * updatesPerEpoch * synchronousRound;
        if (synchronous < SHORT_RUN_SECONDS) {
            return new Choice(1, fixed, update, cap, synchronous);
        }
        double wanted = Math.ceil(fixed * COMPUTE_SHARE / (1 - COMPUTE_SHARE) / update);
        int k = (int) Math.min(Math.min(cap, Math.max(1, updatesPerEpoch)), Math.max(1, wanted));
        if (k >= 2) {
            int rounds = LocalStepsRound.roundsPerEpoch(updatesPerEpoch, k);
            k = (updatesPerEpoch + rounds - 1) / rounds;
        }
        return new Choice(k < MIN_LOCAL_STEPS ? 1 : k, fixed, update, cap, synchronous);
    }
}
