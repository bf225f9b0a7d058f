package io.sparkprop.exec;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.function.Supplier;

import io.sparkprop.data.Example;
import org.apache.spark.SparkEnv;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;

/**
 * A partition's examples in {@link CanonicalOrder canonical order}, in bounded memory: examples are held until
 * they take {@code bufferBytes}, then sorted and written to a run file (an external merge sort), and the runs are
 * merged as the examples are read back. The order is exactly {@link CanonicalOrder#of}'s: by the hash with as
 * many low bits ignored as a partition of that size ignores, and on equal (masked) hash bits by value — runs
 * sorted by the whole hash and then by value give masked-hash groups that are contiguous in the merge, and each
 * group is ordered by value as it passes. A partition that fits the buffer is never written.
 *
 * <p>Run files go to the executor's Spark local directories (removed with them when the executor stops) and
 * are deleted by {@link #close}.
 */
final class CanonicalSort implements AutoCloseable {
    /** An example and its position in the partition as delivered (for messages). */
    record Entry(Example example, long row, long hash) {
    }

    private static final Comparator<Entry> BY_HASH_THEN_VALUE = (a, b) -> {
        int c = Long.compare(a.hash, b.hash);
        return c != 0 ? c : CanonicalOrder.compareValues(a.example, b.example);
    };

    private final long bufferBytes;
    private final java.util.function.ToLongFunction<Example> hash;
    private final Supplier<File> runFiles;
    private final List<Entry> buffer = new ArrayList<>();
    private long buffered;
    private final List<File> runs = new ArrayList<>();
    private long count;
    private long spilledBytes;
    private Merge merge;

    /**
     * @param bufferBytes the examples' estimated bytes held before a run is written
     * @param runFiles    new, empty files for runs
     */
    CanonicalSort(long bufferBytes, Supplier<File> runFiles) {
        this(bufferBytes, runFiles, CanonicalOrder::hash);
    }

    /** With another hash than {@link CanonicalOrder#hash}: for tests that need many equal masked hashes. */
    CanonicalSort(long bufferBytes, Supplier<File> runFiles, java.util.function.ToLongFunction<Example> hash) {
        this.bufferBytes = bufferBytes;
        this.runFiles = runFiles;
        this.hash = hash;
    }

    /** Run files in Spark's local directories, or the JVM's temporary directory outside Spark. */
    static Supplier<File> sparkLocalFiles() {
        return () -> {
            SparkEnv env = SparkEnv.get();
            try {
                return env != null ? env.blockManager().diskBlockManager().createTempLocalBlock()._2()
                        : File.createTempFile("sparkprop-run-", ".bin");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a file for sorting a partition: " + e.getMessage(), e);
            }
        };
    }

    /** Adds the example delivered at position {@code row}. */
    void add(Example e, long row) {
        buffer.add(new Entry(e, row, hash.applyAsLong(e)));
        buffered += estimatedBytes(e);
        count++;
        if (buffered >= bufferBytes) {
            spill();
        }
    }

    /** Examples added. */
    long count() {
        return count;
    }

    /** Runs written to disk so far. */
    int runs() {
        return runs.size();
    }

    /** Bytes written to run files. */
    long spilledBytes() {
        return spilledBytes;
    }

    /** Heap an example takes, roughly: its arrays and objects. */
    private static long estimatedBytes(Example e) {
        Vector v = e.features();
        long features = v instanceof SparseVector ? 12L * ((SparseVector) v).indices().length + 48
                : 8L * v.size() + 32;
        return 96 + features + 8L * e.target().length;
    }

    private void spill() {
        buffer.sort(BY_HASH_THEN_VALUE);
        File file = runFiles.get();
        try (RunWriter w = new RunWriter(file)) {
            for (Entry e : buffer) {
                w.write(e);
            }
            spilledBytes += w.written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a sorted run of a partition to " + file + ": " + e, e);
        }
        runs.add(file);
        buffer.clear();
        buffered = 0;
    }

    /** The examples in canonical order; call once, after the last {@link #add}. */
    Iterator<Entry> sorted() {
        if (count == 0) {
            return java.util.Collections.emptyIterator();
        }
        if (runs.isEmpty()) {
            // the partition fits: the in-memory order, as CanonicalOrder.of gives it
            int n = buffer.size();
            long[] hashes = new long[n];
            for (int i = 0; i < n; i++) {
                hashes[i] = buffer.get(i).hash;
            }
            int[] order = CanonicalOrder.sortByHash(hashes, n,
                    (a, b) -> CanonicalOrder.compareValues(buffer.get(a).example, buffer.get(b).example));
            return Arrays.stream(order).mapToObj(buffer::get).iterator();
        }
        if (!buffer.isEmpty()) {
            spill();
        }
        merge = new Merge(CanonicalOrder.indexMask(count));
        return merge;
    }

    @Override
    public void close() {
        if (merge != null) {
            for (RunReader r : merge.readers) {
                r.close();
            }
        }
        for (File f : runs) {
            f.delete();
        }
        runs.clear();
        buffer.clear();
    }

    /** The runs merged by whole hash and value, then each group of equal masked hash bits ordered by value. */
    private final class Merge implements Iterator<Entry> {
        private final long mask;
        private final PriorityQueue<RunReader> heads = new PriorityQueue<>(
                (a, b) -> BY_HASH_THEN_VALUE.compare(a.head, b.head));
        private final List<RunReader> readers = new ArrayList<>();
        private final java.util.ArrayDeque<Entry> group = new java.util.ArrayDeque<>();

        Merge(long indexMask) {
            this.mask = ~indexMask;
            // the runs' read buffers (256 KB sequential reads) share the sort's memory with the blocks being
            // filled: many runs read through smaller ones, so the merge's memory does not grow with the rows
            int readBuffer = (int) Math.max(64 << 10, Math.min(256 << 10, bufferBytes / 4 / runs.size()));
            for (File f : runs) {
                RunReader r = new RunReader(f, readBuffer);
                readers.add(r);
                if (r.advance()) {
                    heads.add(r);
                }
            }
        }

        @Override
        public boolean hasNext() {
            if (group.isEmpty()) {
                fillGroup();
            }
            return !group.isEmpty();
        }

        @Override
        public Entry next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return group.poll();
        }

        private Entry take() {
            RunReader r = heads.poll();
            Entry e = r.head;
            if (r.advance()) {
                heads.add(r);
            }
            return e;
        }

        private void fillGroup() {
            if (heads.isEmpty()) {
                return;
            }
            Entry first = take();
            List<Entry> same = null;
            while (!heads.isEmpty() && (heads.peek().head.hash & mask) == (first.hash & mask)) {
                if (same == null) {
                    same = new ArrayList<>();
                    same.add(first);
                }
                same.add(take());
            }
            if (same == null) {
                group.add(first);
            } else {
                same.sort((a, b) -> CanonicalOrder.compareValues(a.example, b.example));
                group.addAll(same);
            }
        }
    }

    /**
     * Writes entries as length-prefixed records: hash, delivered row, the feature vector (size, then dense
     * values or sparse indices and values), the target and the weight, in the platform's byte order.
     */
    private static final class RunWriter implements AutoCloseable {
        private final FileChannel out;
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.nativeOrder());
        long written;

        RunWriter(File file) throws IOException {
            out = FileChannel.open(file.toPath(), StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        }

        void write(Entry e) throws IOException {
            Vector v = e.example.features();
            double[] t = e.example.target();
            boolean sparse = v instanceof SparseVector;
            int values = sparse ? ((SparseVector) v).indices().length : v.size();
            int size = 4 + 8 + 8 + 4 + 1 + 4 + (sparse ? 12 * values : 8 * values) + 4 + 8 * t.length + 8;
            if (buffer.remaining() < size) {
                flush();
                if (buffer.capacity() < size) {
                    buffer = ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
                }
            }
            buffer.putInt(size).putLong(e.hash).putLong(e.row).putInt(v.size()).put((byte) (sparse ? 1 : 0))
                    .putInt(values);
            if (sparse) {
                SparseVector s = (SparseVector) v;
                buffer.asIntBuffer().put(s.indices());
                buffer.position(buffer.position() + 4 * values);
                buffer.asDoubleBuffer().put(s.values());
            } else {
                double[] d = v instanceof DenseVector ? ((DenseVector) v).values() : v.toArray();
                buffer.asDoubleBuffer().put(d);
            }
            buffer.position(buffer.position() + 8 * values);
            buffer.putInt(t.length);
            buffer.asDoubleBuffer().put(t);
            buffer.position(buffer.position() + 8 * t.length);
            buffer.putDouble(e.example.weight());
            written += size;
        }

        private void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            buffer.clear();
        }

        @Override
        public void close() throws IOException {
            try {
                flush();
            } finally {
                out.close();
            }
        }
    }

    /** Reads a run back record by record through one buffer. */
    private static final class RunReader {
        private final File file;
        private final FileChannel in;
        private ByteBuffer buffer;
        Entry head;

        RunReader(File file, int bufferBytes) {
            this.file = file;
            this.buffer = ByteBuffer.allocate(bufferBytes).order(ByteOrder.nativeOrder());
            try {
                in = FileChannel.open(file.toPath(), StandardOpenOption.READ);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the sorted run " + file + ": " + e, e);
            }
            buffer.flip();
        }

        /** Reads the next entry into {@link #head}; false at the end of the run. */
        boolean advance() {
            try {
                if (!available(4)) {
                    head = null;
                    return false;
                }
                int size = buffer.getInt(buffer.position());
                if (!available(size)) {
                    throw new IOException("the run ends inside a record of " + size + " bytes");
                }
                buffer.getInt();
                long hash = buffer.getLong();
                long row = buffer.getLong();
                int n = buffer.getInt();
                boolean sparse = buffer.get() == 1;
                int values = buffer.getInt();
                Vector v;
                if (sparse) {
                    int[] idx = new int[values];
                    double[] val = new double[values];
                    buffer.asIntBuffer().get(idx);
                    buffer.position(buffer.position() + 4 * values);
                    buffer.asDoubleBuffer().get(val);
                    // the constructor, as the row came: its indices are checked when the row is packed
                    v = new SparseVector(n, idx, val);
                } else {
                    double[] d = new double[values];
                    buffer.asDoubleBuffer().get(d);
                    v = Vectors.dense(d);
                }
                buffer.position(buffer.position() + 8 * values);
                double[] t = new double[buffer.getInt()];
                buffer.asDoubleBuffer().get(t);
                buffer.position(buffer.position() + 8 * t.length);
                double w = buffer.getDouble();
                head = new Entry(Example.weighted(w, v, t), row, hash);
                return true;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the sorted run " + file + ": " + e, e);
            }
        }

        /** Whether {@code bytes} are buffered, reading more (and growing the buffer) as needed. */
        private boolean available(int bytes) throws IOException {
            if (buffer.remaining() >= bytes) {
                return true;
            }
            buffer.compact();
            if (buffer.capacity() < bytes) {
                ByteBuffer larger = ByteBuffer.allocate(bytes).order(ByteOrder.nativeOrder());
                buffer.flip();
                larger.put(buffer);
                buffer = larger;
            }
            while (buffer.position() < bytes) {
                if (in.read(buffer) < 0) {
                    break;
                }
            }
            buffer.flip();
            return buffer.remaining() >= bytes;
        }

        void close() {
            try {
                in.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
