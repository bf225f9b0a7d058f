package io.sparkprop.exec;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.util.DoubleArrays;
import io.sparkprop.util.Internal;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first layer's weights of a wide sparse input, kept as rows per feature ({@code W_0ᵀ}) on the driver and
 * on every executor between rounds, so that a round ships the rows that changed since the last one instead of
 * all {@code n_0·n_1} weights, and no task transposes {@code W_0}.
 *
 * <p>The driver publishes each version of the rows ({@link #publish}): the rows a step changed go out as a
 * <em>delta</em> (a broadcast of the changed rows alone); all rows go out as a <em>snapshot</em> at the first
 * version, and again whenever the deltas kept since the last snapshot would hold more than
 * {@link #DELTA_ROWS_PER_FEATURE} times the rows there are (so the driver and executors keep at most that many
 * first layers' worth of deltas, and a snapshot's cost is spread over at least that many layers' worth of
 * changed rows); at {@link #MAX_DELTAS} deltas they are merged into one. A round ships a {@link Version}: the handles of the snapshot and of the deltas after it, not their
 * contents. An executor keeps the newest version it has built (per run, in {@link #onExecutor}) and brings it
 * forward with the deltas it has not applied; one that has none (the run's first round on it, a new or restarted
 * executor) reads the snapshot and every delta since. Either way every task reads the same rows: a version is
 * the snapshot with the deltas after it applied in order, each replacing whole rows.
 *
 * <p>Rows are never written once published, here or on the executors: a new version is a new outer array whose
 * changed entries are new arrays, so a task reads a consistent version without copying it.
 */
@Internal
public final class FirstLayerRows implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FirstLayerRows.class);
    /** Deltas kept since the last snapshot hold at most this many rows per feature before a new snapshot. */
    static final int DELTA_ROWS_PER_FEATURE = 4;
    /**
     * Deltas kept at most: at this many, they are merged into one that brings any version since the snapshot to
     * the newest (each changed row once, at its newest value), so a round ships a bounded number of handles and an
     * executor reads a bounded number of broadcasts.
     */
    static final int MAX_DELTAS = 32;
    /** Runs an executor keeps rows for; an older run's are dropped when another starts. */
    private static final int RUNS_KEPT = 2;

    private final JavaSparkContext sc;
    /** Names this run's rows in the executors' caches; drawn at random, it never affects a result. */
    private final long runId = java.util.UUID.randomUUID().getMostSignificantBits();
    private Broadcast<Rows> snapshot;
    private long snapshotVersion;
    private final List<Broadcast<Rows>> deltas = new ArrayList<>();
    private long deltaRows;
    private long version = -1;
    /** The features changed since the last snapshot (for merging the deltas). */
    private boolean[] changedSinceSnapshot;

    /** Rows for the fit running in {@code sc}'s application; nothing is published until {@link #publish}. */
    public FirstLayerRows(JavaSparkContext sc) {
        this.sc = sc;
    }

    /**
     * Publishes the next version, {@code rows} (never to be written again), of which the rows of {@code changed}
     * (ascending) differ from the previous version; {@code null} for a version to ship whole. Returns what a
     * round ships for it.
     */
    public Version publish(double[][] rows, int[] changed) {
        long previous = version++;
        if (snapshot == null || changed == null
                || deltaRows + changed.length > (long) DELTA_ROWS_PER_FEATURE * rows.length) {
            destroyAll();
            snapshot = sc.broadcast(new Rows(version, version, null, rows));
            snapshotVersion = version;
            deltaRows = 0;
            changedSinceSnapshot = new boolean[rows.length];
            return current();
        }
        for (int f : changed) {
            changedSinceSnapshot[f] = true;
        }
        if (deltas.size() + 1 < MAX_DELTAS) {
            deltas.add(sc.broadcast(new Rows(previous, version, changed, pick(rows, changed))));
            deltaRows += changed.length;
            return current();
        }
        // one delta from the snapshot to this version in place of the ones kept
        int[] all = marked(changedSinceSnapshot, false);
        for (Broadcast<Rows> d : deltas) {
            d.destroy();
        }
        deltas.clear();
        deltas.add(sc.broadcast(new Rows(snapshotVersion, version, all, pick(rows, all))));
        deltaRows = all.length;
        return current();
    }

    /** What a round ships for the version published last. */
    public Version current() {
        if (snapshot == null) {
            throw new IllegalStateException("no rows published yet");
        }
        return new Version(runId, version, snapshotVersion, snapshot, new ArrayList<>(deltas));
    }

    /** The indices of {@code marks} that are set, ascending; with {@code clear}, each is cleared as it is read. */
    public static int[] marked(boolean[] marks, boolean clear) {
        int count = 0;
        for (boolean m : marks) {
            count += m ? 1 : 0;
        }
        int[] indices = new int[count];
        for (int f = 0, k = 0; f < marks.length; f++) {
            if (marks[f]) {
                indices[k++] = f;
                marks[f] = !clear;
            }
        }
        return indices;
    }

    private static double[][] pick(double[][] rows, int[] features) {
        double[][] picked = new double[features.length][];
        for (int k = 0; k < features.length; k++) {
            picked[k] = rows[features[k]];
        }
        return picked;
    }

    private void destroyAll() {
        if (snapshot != null) {
            snapshot.destroy();
            snapshot = null;
        }
        for (Broadcast<Rows> d : deltas) {
            d.destroy();
        }
        deltas.clear();
    }

    /** Removes every broadcast of these rows from the executors. */
    @Override
    public void close() {
        destroyAll();
    }

    /**
     * One version of a run's rows as a round ships it: the snapshot's and the deltas' handles (Spark fetches the
     * contents only where they are read).
     */
    public static final class Version implements Serializable {
        private static final long serialVersionUID = 1L;

        final long runId;
        final long version;
        final long snapshotVersion;
        final Broadcast<Rows> snapshot;
        /** The deltas of versions {@code snapshotVersion + 1 … version}, in order. */
        final List<Broadcast<Rows>> deltas;

        Version(long runId, long version, long snapshotVersion, Broadcast<Rows> snapshot,
                List<Broadcast<Rows>> deltas) {
            this.runId = runId;
            this.version = version;
            this.snapshotVersion = snapshotVersion;
            this.snapshot = snapshot;
            this.deltas = deltas;
        }

        /** This version's rows, on an executor (or the driver): from the executor's cache, brought forward. */
        public double[][] rows() {
            return onExecutor(this);
        }
    }

    /**
     * A snapshot ({@code features == null}: every row) or a delta (the rows of {@code features}, which bring any
     * version from {@code from} on to {@code version}), travelling as one flat array of values rather than as one
     * object per row.
     */
    @DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
    static final class Rows implements Serializable {
        private static final long serialVersionUID = 1L;

        transient long from;
        transient long version;
        transient int[] features;
        transient double[][] rows;

        Rows(long from, long version, int[] features, double[][] rows) {
            this.from = from;
            this.version = version;
            this.features = features;
            this.rows = rows;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            out.writeLong(from);
            out.writeLong(version);
            out.writeObject(features);
            int h = rows.length == 0 ? 0 : rows[0].length;
            out.writeInt(rows.length);
            out.writeInt(h);
            int[] all = new int[rows.length];
            for (int k = 0; k < all.length; k++) {
                all[k] = k;
            }
            DoubleArrays.writeRows(out, rows, all, h);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            from = in.readLong();
            version = in.readLong();
            features = (int[]) in.readObject();
            int count = in.readInt();
            int h = in.readInt();
            double[] flat = DoubleArrays.read(in);
            rows = new double[count][];
            for (int k = 0; k < count; k++) {
                rows[k] = java.util.Arrays.copyOfRange(flat, k * h, (k + 1) * h);
            }
        }
    }

    /** An executor's newest rows of a run, and the snapshot they were built from (to drop them once it is gone). */
    private static final class Cached {
        long version;
        double[][] rows;
        WeakReference<Object> snapshot;
    }

    private static final Map<Long, Cached> CACHE = new LinkedHashMap<>(4, 0.75f, true);

    /**
     * {@code v}'s rows from this JVM's cache: as they are when it holds {@code v}; brought forward with the
     * deltas after the version it holds when that is {@code v}'s snapshot or later; else built from the snapshot
     * and every delta. Tasks of one executor share the result (never written).
     *
     * @throws IllegalStateException for a version older than the one held (a task of a round that has ended)
     */
    static double[][] onExecutor(Version v) {
        Cached c;
        synchronized (CACHE) {
            dropGone();
            c = CACHE.computeIfAbsent(v.runId, id -> new Cached());
            while (CACHE.size() > RUNS_KEPT) {
                Iterator<Long> eldest = CACHE.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        synchronized (c) {
            if (c.rows != null && c.version == v.version) {
                return c.rows;
            }
            if (c.rows != null && c.version > v.version) {
                throw new IllegalStateException("first-layer rows of version " + v.version + " asked for after "
                        + "version " + c.version + ": a task of a round that has ended");
            }
            double[][] rows;
            long from;
            if (c.rows != null && c.version >= v.snapshotVersion) {
                rows = c.rows.clone();
                from = c.version;
            } else {
                Rows s = v.snapshot.value();
                rows = s.rows.clone();
                from = v.snapshotVersion;
                c.snapshot = new WeakReference<>(s);
                if (c.rows != null) {
                    LOG.debug("sparkprop: first-layer rows rebuilt from the snapshot of version {}", from);
                }
            }
            for (Broadcast<Rows> b : v.deltas) {
                Rows d = b.value();
                if (d.version <= from) {
                    continue;
                }
                for (int k = 0; k < d.features.length; k++) {
                    rows[d.features[k]] = d.rows[k];
                }
            }
            c.rows = rows;
            c.version = v.version;
            return rows;
        }
    }

    /** Forgets every run's rows in this JVM, as a new executor has none (for tests). */
    static void forgetAll() {
        synchronized (CACHE) {
            CACHE.clear();
        }
    }

    /** Drops the rows of runs whose last snapshot is gone (the run ended and its broadcasts were collected). */
    private static void dropGone() {
        CACHE.values().removeIf(c -> c.snapshot != null && c.snapshot.get() == null);
    }
}
