package io.sparkprop.train;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.sparkprop.nn.NetworkSpec;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Training checkpoints through Hadoop's FileSystem API (local paths, HDFS, …). A checkpoint after
 * epoch {@code e} is the file {@code epoch-<e+1, 6 digits>.ckpt} in the checkpoint folder, holding in
 * a small binary format (magic, version, layer sizes, the run's identity, epoch, iteration, applied
 * updates, previous epoch loss, why the run stopped if it did, the early-stopping state — best epoch,
 * its validation loss and parameters — the parameters and the optimiser state): everything the loop
 * needs to go on exactly as if it had not stopped — the block order derives from (seed, epoch, shard),
 * so there is no random state to keep.
 *
 * <p>The identity is what fixes the run's schedule and arithmetic (seed, shards, block size, updates
 * per epoch, optimiser and its hyper-parameters, …) as {@code key → value}. Resuming with any of them
 * different would silently follow another run, so {@link #newest} refuses it, naming both values;
 * settings that only decide when to stop (epochs, {@code tol}, patience) are not part of it.
 * It is written under a temporary name and renamed, so a crash never leaves a half-written file
 * that looks complete; temporary files are ignored (and cleaned) when resuming.
 */
final class Checkpoints {
    private static final int MAGIC = 0x53504b43; // "SPKC"
    private static final int VERSION = 2;
    private static final String PREFIX = "epoch-";
    private static final String SUFFIX = ".ckpt";

    /** Why a run stopped before its last epoch, as recorded in its final checkpoint. */
    enum Stop {
        /** Not stopped. */
        NONE,
        /** The epoch loss changed by less than {@code tol}. */
        CONVERGED,
        /** No better validation loss for {@code patience} epochs. */
        EARLY_STOPPED
    }

    /** The state of a run after an epoch. */
    static final class State {
        final Map<String, String> identity;
        final int epoch;
        final long iteration;
        final long updates;
        final double previousEpochLoss;
        final Stop stop;
        final int bestEpoch;
        final double bestValidationLoss;
        /** The best epoch's parameters, or {@code null} when there is no validation data. */
        final double[] bestParameters;
        final double[] parameters;
        final double[][] optimizer;

        State(Map<String, String> identity, int epoch, long iteration, long updates, double previousEpochLoss,
              Stop stop, int bestEpoch, double bestValidationLoss, double[] bestParameters, double[] parameters,
              double[][] optimizer) {
            this.identity = identity;
            this.epoch = epoch;
            this.iteration = iteration;
            this.updates = updates;
            this.previousEpochLoss = previousEpochLoss;
            this.stop = stop;
            this.bestEpoch = bestEpoch;
            this.bestValidationLoss = bestValidationLoss;
            this.bestParameters = bestParameters;
            this.parameters = parameters;
            this.optimizer = optimizer;
        }
    }

    private final Path folder;
    private final FileSystem fs;

    Checkpoints(String folder, Configuration hadoop) {
        this.folder = new Path(folder);
        try {
            this.fs = this.folder.getFileSystem(hadoop);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the checkpoint folder " + folder + ": " + e.getMessage(), e);
        }
    }

    /** Writes the state after {@code state.epoch} (0-based) atomically. */
    void write(NetworkSpec spec, State state) {
        Path target = new Path(folder, String.format("%s%06d%s", PREFIX, state.epoch + 1, SUFFIX));
        Path temporary = new Path(folder, "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(folder);
            try (DataOutputStream out = fs.create(temporary, false)) {
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                int[] sizes = spec.layerSizes();
                out.writeInt(sizes.length);
                for (int s : sizes) {
                    out.writeInt(s);
                }
                out.writeInt(state.identity.size());
                for (Map.Entry<String, String> e : state.identity.entrySet()) {
                    out.writeUTF(e.getKey());
                    out.writeUTF(e.getValue());
                }
                out.writeInt(state.epoch);
                out.writeLong(state.iteration);
                out.writeLong(state.updates);
                out.writeDouble(state.previousEpochLoss);
                out.writeInt(state.stop.ordinal());
                out.writeInt(state.bestEpoch);
                out.writeDouble(state.bestValidationLoss);
                out.writeBoolean(state.bestParameters != null);
                if (state.bestParameters != null) {
                    writeArray(out, state.bestParameters);
                }
                writeArray(out, state.parameters);
                out.writeInt(state.optimizer.length);
                for (double[] a : state.optimizer) {
                    writeArray(out, a);
                }
            }
            fs.delete(target, false);
            if (!fs.rename(temporary, target)) {
                throw new IOException("cannot rename " + temporary + " to " + target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * The newest complete checkpoint, or {@code null} if there is none; leftover temporary files of
     * interrupted writes are deleted.
     *
     * @throws IllegalArgumentException if it belongs to a network of other layer sizes or to a run of
     *                                  another identity (both values named), or is damaged
     */
    State newest(NetworkSpec spec, Map<String, String> identity, int optimizerArrays) {
        Path file = newestFile();
        if (file == null) {
            return null;
        }
        try (DataInputStream in = fs.open(file)) {
            Map<String, String> saved = readHeader(in, file, spec);
            checkIdentity(file, saved, identity);
            int epoch = in.readInt();
            long iteration = in.readLong();
            long updates = in.readLong();
            double previous = in.readDouble();
            int stopCode = in.readInt();
            if (stopCode < 0 || stopCode >= Stop.values().length) {
                throw new IOException("unknown stop code " + stopCode);
            }
            Stop stop = Stop.values()[stopCode];
            int bestEpoch = in.readInt();
            double bestValidationLoss = in.readDouble();
            double[] best = in.readBoolean() ? readArray(in) : null;
            double[] parameters = readArray(in);
            double[][] optimizer = new double[in.readInt()][];
            if (optimizer.length != optimizerArrays) {
                throw new IllegalArgumentException("checkpoint " + file + " holds the state of another optimiser ("
                        + optimizer.length + " arrays, this run's has " + optimizerArrays + ")");
            }
            for (int i = 0; i < optimizer.length; i++) {
                optimizer[i] = readArray(in);
            }
            return new State(saved, epoch, iteration, updates, previous, stop, bestEpoch, bestValidationLoss, best,
                    parameters, optimizer);
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + file + " cannot be read (" + e + ")", e);
        }
    }

    /**
     * The identity recorded in the newest complete checkpoint, or {@code null} if there is none (what a resume
     * would compare; {@code localSteps = auto} takes its {@code k} from it).
     *
     * @throws IllegalArgumentException if it belongs to a network of other layer sizes, or is damaged
     */
    Map<String, String> newestIdentity(NetworkSpec spec) {
        Path file = newestFile();
        if (file == null) {
            return null;
        }
        try (DataInputStream in = fs.open(file)) {
            return readHeader(in, file, spec);
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + file + " cannot be read (" + e + ")", e);
        }
    }

    /** The newest complete checkpoint file, or {@code null}; leftover temporary files are deleted. */
    private Path newestFile() {
        FileStatus newest = null;
        try {
            if (!fs.exists(folder)) {
                return null;
            }
            for (FileStatus f : fs.listStatus(folder)) {
                String name = f.getPath().getName();
                if (name.startsWith(".") && name.contains(".tmp-")) {
                    fs.delete(f.getPath(), false);
                } else if (name.startsWith(PREFIX) && name.endsWith(SUFFIX)
                        && (newest == null || name.compareTo(newest.getPath().getName()) > 0)) {
                    newest = f;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the checkpoint folder " + folder + ": " + e.getMessage(), e);
        }
        return newest == null ? null : newest.getPath();
    }

    /** Reads the magic, version, layer sizes (checked against {@code spec}) and identity of a checkpoint. */
    private static Map<String, String> readHeader(DataInputStream in, Path file, NetworkSpec spec) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IllegalArgumentException("checkpoint " + file + " is not a sparkprop checkpoint");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IllegalArgumentException("checkpoint " + file + " is of format version " + version
                    + ", this sparkprop reads version " + VERSION + ": use another checkpoint folder or resume=false");
        }
        int[] sizes = new int[in.readInt()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = in.readInt();
        }
        if (!Arrays.equals(sizes, spec.layerSizes())) {
            throw new IllegalArgumentException("checkpoint " + file + " is of a network with layer sizes "
                    + Arrays.toString(sizes) + ", this run trains " + Arrays.toString(spec.layerSizes())
                    + ": use another checkpoint folder or resume=false");
        }
        Map<String, String> saved = new LinkedHashMap<>();
        int entries = in.readInt();
        for (int i = 0; i < entries; i++) {
            saved.put(in.readUTF(), in.readUTF());
        }
        return saved;
    }

    /** Refuses a resume whose identity differs from the checkpoint's, naming every difference. */
    private static void checkIdentity(Path file, Map<String, String> saved, Map<String, String> current) {
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> e : current.entrySet()) {
            String was = saved.get(e.getKey());
            if (!e.getValue().equals(was)) {
                differences.add(e.getKey() + " " + (was == null ? "(not recorded)" : was) + ", this run has "
                        + e.getValue());
            }
        }
        // a setting recorded only when it is not its default (local steps, precision): the checkpoint's
        // run set it, this one leaves it at the default
        for (Map.Entry<String, String> e : saved.entrySet()) {
            if (!current.containsKey(e.getKey())) {
                differences.add(e.getKey() + " " + e.getValue() + ", this run has the default");
            }
        }
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("checkpoint " + file + " was written with "
                    + String.join("; ", differences) + ". Resuming would follow another schedule and give other "
                    + "results: run with the checkpoint's settings (e.g. the same number of shards), or use another "
                    + "checkpoint folder or resume=false");
        }
    }

    private static void writeArray(DataOutputStream out, double[] a) throws IOException {
        out.writeInt(a.length);
        for (double v : a) {
            out.writeDouble(v);
        }
    }

    private static double[] readArray(DataInputStream in) throws IOException {
        double[] a = new double[in.readInt()];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readDouble();
        }
        return a;
    }
}
