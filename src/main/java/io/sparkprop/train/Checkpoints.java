package io.sparkprop.train;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.UUID;

import io.sparkprop.nn.NetworkSpec;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Training checkpoints through Hadoop's FileSystem API (local paths, HDFS, …). A checkpoint after
 * epoch {@code e} is the file {@code epoch-<e+1, 6 digits>.ckpt} in the checkpoint folder, holding in
 * a small binary format (magic, version, layer sizes, epoch, iteration, previous epoch loss,
 * parameters, optimiser state): everything the loop needs to go on exactly as if it had not
 * stopped — the block order derives from (seed, epoch, shard), so there is no random state to keep.
 * It is written under a temporary name and renamed, so a crash never leaves a half-written file
 * that looks complete; temporary files are ignored (and cleaned) when resuming.
 */
final class Checkpoints {
    private static final int MAGIC = 0x53504b43; // "SPKC"
    private static final int VERSION = 1;
    private static final String PREFIX = "epoch-";
    private static final String SUFFIX = ".ckpt";

    /** The state of a run after an epoch. */
    static final class State {
        final int epoch;
        final long iteration;
        final double previousEpochLoss;
        final double[] parameters;
        final double[][] optimizer;

        State(int epoch, long iteration, double previousEpochLoss, double[] parameters, double[][] optimizer) {
            this.epoch = epoch;
            this.iteration = iteration;
            this.previousEpochLoss = previousEpochLoss;
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
                out.writeInt(state.epoch);
                out.writeLong(state.iteration);
                out.writeDouble(state.previousEpochLoss);
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
     * @throws IllegalArgumentException if it belongs to a network of other layer sizes, or is damaged
     */
    State newest(NetworkSpec spec, int optimizerArrays) {
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
        if (newest == null) {
            return null;
        }
        Path file = newest.getPath();
        try (DataInputStream in = fs.open(file)) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw new IllegalArgumentException("checkpoint " + file + " is not a sparkprop checkpoint of version "
                        + VERSION);
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
            int epoch = in.readInt();
            long iteration = in.readLong();
            double previous = in.readDouble();
            double[] parameters = readArray(in);
            double[][] optimizer = new double[in.readInt()][];
            if (optimizer.length != optimizerArrays) {
                throw new IllegalArgumentException("checkpoint " + file + " holds the state of another optimiser ("
                        + optimizer.length + " arrays, this run's has " + optimizerArrays + ")");
            }
            for (int i = 0; i < optimizer.length; i++) {
                optimizer[i] = readArray(in);
            }
            return new State(epoch, iteration, previous, parameters, optimizer);
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + file + " cannot be read (" + e + ")", e);
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
