package io.sparkprop.exec;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.sparkprop.linalg.Precision;
import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;
import org.ejml.data.Matrix;

/**
 * One partition's examples packed once into blocks of columns: block {@code k} holds
 * {@code X_k ∈ R^{n×B_k}}, {@code Y_k ∈ R^{m×B_k}} and, when any example of the partition has a
 * weight other than 1, the weights {@code w_k}. Every block has {@code blockSize} columns but the
 * last, which may be shorter. {@code X} and {@code Y} are {@link DMatrixRMaj} in a float64 shard and
 * {@link FMatrixRMaj} (half the bytes) in a float32 one; weights are always doubles. A block of sparse
 * examples holds {@code X} as a {@link DMatrixSparseCSC} instead (one compressed column per example: 12
 * bytes per non-zero, a double and its feature index, and 4 per example), or in a float32 shard as an
 * {@link FMatrixSparseCSC} (8 bytes per non-zero, a float and its index) ({@link ShardPacker#withSparseThreshold}).
 *
 * <p>Blocks are the unit of storage: those that fit the shard's memory budget are held here, exactly sized; the
 * others live on the executor's local disk in their binary form ({@link DiskBlocks}) and are read back as a task
 * visits them, a few ahead of the kernel ({@link #read}). A block read from disk is the same bits as one held in
 * memory, so where a block lives never changes a result. The shard itself (what Spark caches) holds the blocks
 * in memory, the placement of the others and the partition's totals, counted while it was packed.
 *
 * <p>Immutable once built; random access by block id, so an iteration reads only the blocks it uses.
 */
@Internal
public final class Shard implements Serializable {
    private static final long serialVersionUID = 2L;

    /** Blocks a {@link #read} keeps in flight from disk ahead of the one the kernel is on. */
    static final int READ_AHEAD = 4;

    /** The threads that read blocks ahead (daemons: they never keep an executor alive). */
    private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sparkprop-block-reader");
        t.setDaemon(true);
        return t;
    });

    private final int partition;
    private final Precision precision;
    private final int numBlocks;
    /** Per block: {@code X}, {@code Y} and the weights when the block is in memory, {@code null} when on disk. */
    private final Matrix[] features;
    private final Matrix[] targets;
    /** Per-block weights, or {@code null} when every weight of the partition is 1. */
    private final double[][] weights;
    private final boolean unitWeights;
    /** Where the blocks not in memory are; {@code null} when every block is. */
    private final DiskBlocks disk;
    private final long count;
    private final double weightSum;
    private final long payloadBytes;
    private final long memoryBytes;
    private final int sparseBlocks;
    private final long featureValues;
    /** Examples of each class, or {@code null} when not counted. */
    private final long[] classCounts;

    Shard(int partition, Precision precision, int numBlocks, Matrix[] features, Matrix[] targets, double[][] weights,
          DiskBlocks disk, long count, double weightSum, long payloadBytes, long memoryBytes, int sparseBlocks,
          long featureValues, long[] classCounts) {
        this.partition = partition;
        this.precision = precision;
        this.numBlocks = numBlocks;
        this.features = features;
        this.targets = targets;
        this.unitWeights = weights == null;
        this.weights = weights;
        this.disk = disk;
        this.count = count;
        this.weightSum = weightSum;
        this.payloadBytes = payloadBytes;
        this.memoryBytes = memoryBytes;
        this.sparseBlocks = sparseBlocks;
        this.featureValues = featureValues;
        this.classCounts = classCounts;
    }

    /** The Spark partition this shard was packed from. */
    public int partition() {
        return partition;
    }

    /** The format of {@code X} and {@code Y}. */
    public Precision precision() {
        return precision;
    }

    /** Number of blocks. */
    public int numBlocks() {
        return numBlocks;
    }

    /** One block: its index in the shard, {@code X}, {@code Y} and its weights ({@code null}: all 1). */
    public record Block(int index, Matrix features, Matrix targets, double[] weights) {
    }

    /**
     * Block {@code k}: from memory, or read from disk now (a task reads through {@link #read}, which reads
     * ahead); do not modify its arrays.
     */
    public Block block(int k) {
        if (disk == null || !disk.onDisk(k)) {
            return new Block(k, features[k], targets[k], unitWeights ? null : weights[k]);
        }
        try (DiskBlocks.Reader reader = disk.new Reader()) {
            return decoded(k, reader.read(k));
        }
    }

    private Block decoded(int k, BlockCodec.Decoded d) {
        double[] w = d.weights();
        if (!unitWeights && w == null) {
            // a block whose weights are all 1 stores none; in a shard with other weights each block has its own
            w = new double[d.x().getNumCols()];
            Arrays.fill(w, 1.0);
        }
        return new Block(k, d.x(), d.y(), unitWeights ? null : w);
    }

    /**
     * {@code X_k}, {@code n × B_k}: dense in the shard's {@link #precision()}, or a {@link DMatrixSparseCSC}
     * (values double) for a sparse block; do not modify.
     */
    public Matrix features(int block) {
        return block(block).features();
    }

    /** {@code Y_k}, {@code m × B_k}, in the shard's {@link #precision()}; do not modify. */
    public Matrix targets(int block) {
        return block(block).targets();
    }

    /** Weights of block {@code k}, or {@code null} for all 1; do not modify. */
    public double[] weights(int block) {
        return block(block).weights();
    }

    /**
     * The blocks at positions {@code [from, to)} of {@code order}, in that order: those on disk are read by
     * other threads, up to {@value #READ_AHEAD} ahead of the one handed out, so that the kernel does not wait
     * for the disk while it has blocks to work on. Close it when done (it waits for the reads still in flight).
     */
    public Blocks read(int[] order, int from, int to) {
        return new Blocks(order, from, to);
    }

    /** Direct buffers that streams read blocks into, kept between streams (a task's rounds, other tasks). */
    private static final java.util.concurrent.ConcurrentLinkedDeque<java.nio.ByteBuffer> BUFFERS =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    private static final int POOLED_BUFFERS = 64;

    /**
     * The blocks of a {@link #read}, in order; counts the bytes it read from disk. Blocks read from disk go
     * through {@value #READ_AHEAD} + 1 slots, each a direct buffer (the file's bytes arrive without the copy a
     * heap buffer costs) and the arrays of the block last decoded there, which the next block of the same shape
     * reuses: position {@code p} uses slot {@code p mod (READ_AHEAD + 1)}, so the slot a read fills is never
     * the one the kernel is on. A block handed out is valid until the next call to {@link #next}.
     */
    public final class Blocks implements Iterator<Block>, AutoCloseable {
        private final int[] order;
        private final int to;
        private int next;
        private int requested;
        private final DiskBlocks.Reader reader;
        private final ArrayDeque<CompletableFuture<BlockCodec.Decoded>> ahead = new ArrayDeque<>();
        private final java.nio.ByteBuffer[] buffers = new java.nio.ByteBuffer[READ_AHEAD + 1];
        private final BlockCodec.Decoded[] decoded = new BlockCodec.Decoded[READ_AHEAD + 1];
        private long diskBytes;

        private Blocks(int[] order, int from, int to) {
            this.order = order;
            this.to = to;
            this.next = from;
            this.requested = from;
            this.reader = disk == null ? null : disk.new Reader();
            fill();
        }

        /** Starts the reads of the disk blocks among the next {@value #READ_AHEAD} positions. */
        private void fill() {
            while (requested < to && requested < next + READ_AHEAD) {
                int slot = requested % (READ_AHEAD + 1);
                int k = order[requested++];
                if (reader != null && disk.onDisk(k)) {
                    java.nio.ByteBuffer buffer = buffers[slot];
                    if (buffer == null || buffer.capacity() < reader.bytes(k)) {
                        release(buffer);
                        buffer = borrow(reader.bytes(k));
                        buffers[slot] = buffer;
                    }
                    java.nio.ByteBuffer into = buffer;
                    BlockCodec.Decoded reuse = decoded[slot];
                    ahead.add(CompletableFuture.supplyAsync(() -> {
                        BlockCodec.Decoded d = reader.read(k, into, reuse);
                        decoded[slot] = d;
                        return d;
                    }, READERS));
                    diskBytes += disk.length(k);
                }
            }
        }

        private java.nio.ByteBuffer borrow(int capacity) {
            java.nio.ByteBuffer b = BUFFERS.pollFirst();
            if (b != null && b.capacity() >= capacity) {
                return b;
            }
            // a pooled buffer too small for this block size is dropped; blocks of a fit are one size but the last
            return java.nio.ByteBuffer.allocateDirect(Math.max(capacity, capacity + capacity / 8));
        }

        private void release(java.nio.ByteBuffer b) {
            if (b != null && BUFFERS.size() < POOLED_BUFFERS) {
                BUFFERS.addFirst(b);
            }
        }

        @Override
        public boolean hasNext() {
            return next < to;
        }

        @Override
        public Block next() {
            if (next >= to) {
                throw new NoSuchElementException();
            }
            int k = order[next++];
            Block b;
            if (reader != null && disk.onDisk(k)) {
                try {
                    b = decoded(k, ahead.remove().join());
                } catch (CompletionException e) {
                    throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause() : e;
                }
            } else {
                b = new Block(k, features[k], targets[k], unitWeights ? null : weights[k]);
            }
            fill();
            return b;
        }

        /** Bytes of the blocks this read took from disk so far (those requested, read ahead included). */
        public long diskBytes() {
            return diskBytes;
        }

        @Override
        public void close() {
            // the reads in flight (at most READ_AHEAD) finish before their buffers go back to the pool
            for (CompletableFuture<BlockCodec.Decoded> f : ahead) {
                try {
                    f.join();
                } catch (RuntimeException ignored) {
                    // the task is ending either way; a failed read it did not reach does not matter
                }
            }
            ahead.clear();
            if (reader != null) {
                reader.close();
            }
            for (int i = 0; i < buffers.length; i++) {
                release(buffers[i]);
                buffers[i] = null;
            }
        }
    }

    /** Number of examples. */
    public long count() {
        return count;
    }

    /** Sum of the examples' weights. */
    public double weightSum() {
        return weightSum;
    }

    /** Bytes of the values this shard holds (features and targets in its precision, weights as doubles). */
    public long payloadBytes() {
        return payloadBytes;
    }

    /** Bytes of the values of the blocks held in memory (as {@link #payloadBytes}). */
    public long memoryBytes() {
        return memoryBytes;
    }

    /** Bytes of the blocks on the executor's disk, in their binary form. */
    public long diskBytes() {
        return disk == null ? 0 : disk.bytes();
    }

    /** Number of blocks whose {@code X} is held sparse. */
    public int sparseBlocks() {
        return sparseBlocks;
    }

    /** Number of feature values the blocks hold: the non-zeros of sparse blocks, {@code n·B} of dense ones. */
    public long featureValues() {
        return featureValues;
    }

    /** Examples of each class ({@code TrainingTerms#classOf}), or {@code null} when the packer counted none. */
    public long[] classCounts() {
        return classCounts == null ? null : classCounts.clone();
    }

    /** Bytes of the values of one block, as {@link #payloadBytes} counts them. */
    static long payloadBytes(Matrix x, Matrix y, double[] w, Precision precision) {
        long values = (long) y.getNumRows() * y.getNumCols();
        long sparse = 0;
        if (isSparse(x)) {
            sparse = sparseBytes(x);
        } else {
            values += (long) x.getNumRows() * x.getNumCols();
        }
        return precision.bytes() * values + (w == null ? 0 : 8L * w.length) + sparse;
    }

    /** Feature values of one block, as {@link #featureValues} counts them. */
    static long featureValues(Matrix x) {
        return isSparse(x) ? nonZeros(x) : (long) x.getNumRows() * x.getNumCols();
    }

    /**
     * Whether a block's {@code X} is held sparse: a {@link DMatrixSparseCSC}, or in a float32 shard an
     * {@link FMatrixSparseCSC}.
     */
    public static boolean isSparse(Matrix x) {
        return x instanceof DMatrixSparseCSC || x instanceof FMatrixSparseCSC;
    }

    /**
     * Bytes of a sparse {@code X}: a value (8 bytes, 4 in a float32 block) and a feature index (4) a non-zero, and
     * the column starts.
     */
    static long sparseBytes(Matrix x) {
        return (x instanceof DMatrixSparseCSC ? 12L : 8L) * nonZeros(x) + 4L * (x.getNumCols() + 1);
    }

    /** The non-zeros of a sparse {@code X}. */
    static int nonZeros(Matrix x) {
        return x instanceof DMatrixSparseCSC ? ((DMatrixSparseCSC) x).nz_length : ((FMatrixSparseCSC) x).nz_length;
    }
}
