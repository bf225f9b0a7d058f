package io.sparkprop.train;

import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import io.sparkprop.exec.HeldOutLoss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver loop of one fit, as the README describes an epoch: rounds ({@link Round}) over the
 * epoch's slices; then the validation loss, the history and progress line, the epoch listener,
 * the stopping rules ({@link StoppingRule}) and the checkpoint. Everything it reads is final; the
 * state it changes is the {@link ModelState} and the best epoch's record.
 */
final class TrainingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);
    /** An epoch loss at or above this is meaningless (see {@link #isMeaningful}). */
    static final double MEANINGFUL_LOSS = 1e100;

    /** What the loop returns: the model's parameters and how the run ended. */
    record Result(Parameters parameters, TrainingHistory history, boolean converged, int bestEpoch) {
    }

    /** Sets the description of the Spark jobs that follow (the UI's and the logs' name for them). */
    private final Consumer<String> describeJobs;
    private final NetworkSpec spec;
    private final MlpSettings settings;
    private final Round round;
    private final int roundsPerEpoch;
    private final Function<Parameters, HeldOutLoss> validation;
    private final Checkpoints checkpoints;
    private final int checkpointEvery;
    private final boolean resume;
    private final Map<String, String> identity;
    private final EpochListener listener;
    private final StoppingRule[] rules;
    private final TrainingHistory history = new TrainingHistory();

    private int bestEpoch = -1;
    private double bestValidationLoss = Double.POSITIVE_INFINITY;
    private Parameters best;
    private boolean warnedMeaningless;

    /**
     * @param describeJobs sets the description of the Spark jobs that follow (the rounds', the validation's)
     * @param validation  the held-out loss at given parameters, or {@code null} without validation data
     * @param checkpoints where to write checkpoints, or {@code null}
     * @param identity    what fixes this run's arithmetic, recorded in checkpoints and compared on resume
     */
    TrainingLoop(Consumer<String> describeJobs, NetworkSpec spec, MlpSettings settings, Round round, int roundsPerEpoch,
                 Function<Parameters, HeldOutLoss> validation, Checkpoints checkpoints, int checkpointEvery,
                 boolean resume, Map<String, String> identity, EpochListener listener) {
        this.describeJobs = describeJobs;
        this.spec = spec;
        this.settings = settings;
        this.round = round;
        this.roundsPerEpoch = roundsPerEpoch;
        this.validation = validation;
        this.checkpoints = checkpoints;
        this.checkpointEvery = checkpointEvery;
        this.resume = resume;
        this.identity = identity;
        this.listener = listener;
        this.rules = StoppingRule.of(settings);
    }

    Result run(Parameters initial) {
        ModelState state = round.newState(initial);
        int maxEpochs = settings.maxEpochs();
        long iteration = 0;
        double previousEpochLoss = Double.NaN;
        int firstEpoch = 0;
        if (checkpoints != null && resume) {
            Checkpoints.State saved = checkpoints.newest(spec, identity, state.optimizerStateArrays());
            if (saved != null) {
                state.restore(saved.parameters, saved.optimizer, saved.updates);
                firstEpoch = saved.epoch + 1;
                iteration = saved.iteration;
                previousEpochLoss = saved.previousEpochLoss;
                bestEpoch = saved.bestEpoch;
                bestValidationLoss = saved.bestValidationLoss;
                best = saved.bestParameters == null ? null : Parameters.fromFlat(spec, saved.bestParameters);
                if (saved.stop != Checkpoints.Stop.NONE) {
                    // the run had ended: resuming it must not train on
                    boolean converged = saved.stop == Checkpoints.Stop.CONVERGED;
                    LOG.info("sparkprop: the run had stopped after epoch {} ({}); nothing to resume", firstEpoch,
                            converged ? "converged" : "early stop");
                    return result(state, converged);
                }
                LOG.info("sparkprop: resuming after epoch {}", firstEpoch);
            }
        }
        long start = System.nanoTime();
        double listenerMillis = 0;
        for (int epoch = firstEpoch; epoch < maxEpochs; epoch++) {
            // the epoch loss is the batch-weighted mean of J_t(θ_t) (data term + penalty, at the parameters θ_t
            // each round started from): Σ_t W_t·J_t(θ_t) / Σ_t W_t
            double objectiveSum = 0;
            double weightSum = 0;
            long examples = 0;
            long epochStart = System.nanoTime();
            long diskBefore = round.diskBytesRead();
            long updatesBefore = state.updates;
            long clippedInEpoch = 0;
            double largestNorm = 0;
            for (int t = 0; t < roundsPerEpoch; t++, iteration++) {
                long roundStart = System.nanoTime();
                int steps = round.stepsIn(t);
                describeJobs.accept(String.format(Locale.ROOT, "sparkprop epoch %d/%d round %d/%d%s",
                        epoch + 1, maxEpochs, t + 1, roundsPerEpoch,
                        steps == 1 ? "" : String.format(Locale.ROOT, " (%d local steps)", steps)));
                long updatesAtStart = state.updates;
                Round.Outcome r = round.run(state, epoch, t);
                if (r.divergence() != null) {
                    throw diverged(epoch, iteration, r.divergence(), state.parameters());
                }
                history.add(new IterationRecord(epoch, iteration, state.updates - updatesAtStart, r.objective(),
                        r.stepSize(), r.examples(), r.blocks(), millisSince(roundStart), r.gradientNorm(), r.clipped()));
                clippedInEpoch += r.clipped();
                largestNorm = Math.max(largestNorm, Double.isNaN(r.gradientNorm()) ? 0 : r.gradientNorm());
                if (r.updated()) {
                    objectiveSum += r.objective() * r.weightSum();
                    weightSum += r.weightSum();
                    examples += r.examples();
                }
            }
            double roundsSeconds = millisSince(epochStart) / 1e3;
            long diskBytes = round.diskBytesRead() - diskBefore;
            double epochLoss = objectiveSum / weightSum;
            double elapsed = millisSince(start) - listenerMillis;
            state.endOfEpoch();
            Parameters current = state.parameters();
            EpochRecord record = endOfEpoch(epoch, epochLoss, elapsed, current);
            logProgress(record, weightSum > 0 ? examples / (millisSince(epochStart) / 1e3) : 0.0,
                    state.updates - updatesBefore, clippedInEpoch, largestNorm, diskBytes, roundsSeconds);
            boolean goOn = true;
            if (listener != null) {
                long listenerStart = System.nanoTime();
                goOn = listener.afterEpoch(record, current.copy());
                listenerMillis += millisSince(listenerStart);
            }
            StoppingRule.EpochEnd end = new StoppingRule.EpochEnd(epoch, epochLoss, previousEpochLoss,
                    isMeaningful(epochLoss), bestEpoch);
            Checkpoints.Stop stop = Checkpoints.Stop.NONE;
            for (int i = 0; i < rules.length && stop == Checkpoints.Stop.NONE; i++) {
                stop = rules[i].check(end);
            }
            // written after the stopping decision, so that a resumed run that had stopped stays stopped
            if (checkpoints != null && ((epoch + 1) % checkpointEvery == 0 || stop != Checkpoints.Stop.NONE)) {
                checkpoints.write(spec, new Checkpoints.State(identity, epoch, iteration, state.updates, epochLoss,
                        stop, bestEpoch, bestValidationLoss, best == null ? null : best.toFlat(),
                        current.toFlat(), state.optimizerState()));
            }
            if (stop != Checkpoints.Stop.NONE) {
                return result(state, stop == Checkpoints.Stop.CONVERGED);
            }
            if (!goOn) {
                LOG.info("sparkprop: stopped by the epoch listener after epoch {}", epoch + 1);
                break;
            }
            previousEpochLoss = epochLoss;
        }
        return result(state, false);
    }

    /** With early stopping the model is the best epoch's; parameters are replaced, never mutated. */
    private Result result(ModelState state, boolean converged) {
        Parameters model = settings.patience() > 0 && best != null ? best : state.parameters();
        return new Result(model, history, converged, bestEpoch);
    }

    /** The epoch's record, after the validation pass (which also keeps the best epoch). */
    private EpochRecord endOfEpoch(int epoch, double epochLoss, double elapsed, Parameters current) {
        double validationLoss = Double.NaN;
        double validationAccuracy = Double.NaN;
        if (validation != null) {
            describeJobs.accept(String.format(Locale.ROOT, "sparkprop epoch %d/%d validation", epoch + 1,
                    settings.maxEpochs()));
            HeldOutLoss e = validation.apply(current);
            validationLoss = e.meanLoss();
            validationAccuracy = e.accuracy(spec);
            if (bestEpoch < 0 || validationLoss < bestValidationLoss) {
                bestEpoch = epoch;
                bestValidationLoss = validationLoss;
                best = current;
            }
        }
        EpochRecord record = new EpochRecord(epoch, epochLoss, elapsed, validationLoss, validationAccuracy);
        history.add(record);
        return record;
    }

    private void logProgress(EpochRecord r, double examplesPerSecond, long updates, long clipped, double largestNorm,
                             long diskBytes, double roundsSeconds) {
        int maxEpochs = settings.maxEpochs();
        double eta = r.elapsedMillis() / (r.epoch() + 1) * (maxEpochs - r.epoch() - 1);
        String held = validation == null ? ""
                : String.format(Locale.ROOT, ", validation loss %.6g", r.validationLoss())
                + (Double.isNaN(r.validationAccuracy()) ? ""
                : String.format(Locale.ROOT, " accuracy %.4f", r.validationAccuracy()));
        // clipping is reported when it happens: how many of the epoch's updates, and the largest norm it met
        String clipping = clipped == 0 ? "" : String.format(Locale.ROOT, ", gradient clipped in %d of %d updates "
                + "(largest norm %.4g, clipNorm %s)", clipped, updates, largestNorm, settings.clipNorm());
        // blocks on disk: how fast the rounds read them (bytes the tasks requested over the rounds' wall time)
        String disk = diskBytes == 0 ? "" : String.format(Locale.ROOT, ", read %d MB from disk at %.0f MB/s",
                diskBytes >> 20, diskBytes / 1048576.0 / Math.max(roundsSeconds, 1e-9));
        LOG.info(String.format(Locale.ROOT, "sparkprop epoch %d/%d: loss %.6g%s, %d rounds, %d updates, "
                + "%.0f examples/s, %.1f s elapsed, ETA %.1f s%s%s", r.epoch() + 1, maxEpochs, r.loss(), held,
                roundsPerEpoch, updates, examplesPerSecond, r.elapsedMillis() / 1e3, eta / 1e3, disk, clipping));
    }

    /**
     * Whether a loss is small enough for its relative changes to mean anything. A loss near the
     * top of the double range (features of ~1e150 and beyond give squared terms of ~1e300) moves by
     * less than any {@code tol} relative to itself while nothing is learnt: such a run is warned
     * about once and never called converged.
     */
    private boolean isMeaningful(double loss) {
        if (!(Math.abs(loss) >= MEANINGFUL_LOSS)) {
            return true; // NaN included: it is no scale problem, and never compares as converged
        }
        if (!warnedMeaningless) {
            warnedMeaningless = true;
            LOG.warn(String.format(Locale.ROOT, "sparkprop: the training loss is %.3g: the features' scale makes "
                    + "the loss and its gradient meaningless, and the run will not be called converged; "
                    + "standardise the features (data.scale=standard in a job, or a StandardScaler stage)", loss));
        }
        return false;
    }

    private TrainingDivergedException diverged(int epoch, long iteration, String what, Parameters lastFinite) {
        return new TrainingDivergedException(String.format(Locale.ROOT,
                "training diverged at epoch %d, iteration %d: %s; try a smaller step size (stepSize is %s)",
                epoch + 1, iteration + 1, what, settings.stepSize()), epoch, iteration, lastFinite, history);
    }

    private static double millisSince(long nanoStart) {
        return (System.nanoTime() - nanoStart) / 1e6;
    }
}
