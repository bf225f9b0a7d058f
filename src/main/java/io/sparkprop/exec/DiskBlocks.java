package io.sparkprop.exec;

import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

import org.apache.spark.SparkEnv;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.RDDBlockId;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.io.ChunkedByteBuffer;
import scala.Option;
import scala.reflect.ClassTag$;

/**
 * Where the blocks of one shard that do not stay in memory live: in chunks of a few MB, each stored as a
 * {@code DISK_ONLY} block of the executor's Spark block manager under an RDD id reserved for the packed data
 * ({@link PackedData}), block {@code chunk · partitions + partition}. Spark's block manager owns the files: it
 * puts them in the executor's local directories, removes them all when the reserved id is unpersisted (the
 * fit's end, failure or cancellation: {@link PackedData#close}) and with the executor's directories when the
 * executor stops. A task reads a block with one positional read of the chunk's file; a task that Spark runs on
 * another executor than the one that packed the shard fetches the chunk from it through the block manager.
 *
 * <p>A lost executor takes the chunks with the shard's cached descriptor: Spark re-packs the partition from
 * its lineage, and the canonical order makes the new blocks the same bits.
 */
final class DiskBlocks implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Bytes a chunk holds at most (a block larger than this gets a chunk of its own): large enough that the
     * driver hears of one Spark block per few hundred of ours, small enough that a packing task's buffer is a
     * few MB.
     */
    static final int CHUNK_BYTES = 8 << 20;

    private final int rddId;
    private final int partitions;
    private final int partition;
    /** Per block: its chunk (−1: the block is in memory), its offset in the chunk and its length. */
    private final int[] chunk;
    private final int[] offset;
    private final int[] length;
    private final long bytes;

    private DiskBlocks(int rddId, int partitions, int partition, int[] chunk, int[] offset, int[] length, long bytes) {
        this.rddId = rddId;
        this.partitions = partitions;
        this.partition = partition;
        this.chunk = chunk;
        this.offset = offset;
        this.length = length;
        this.bytes = bytes;
    }

    /** Whether block {@code k} is on disk. */
    boolean onDisk(int k) {
        return chunk[k] >= 0;
    }

    /** Bytes of the blocks on disk. */
    long bytes() {
        return bytes;
    }

    /** Bytes block {@code k} takes on disk (0 for one in memory). */
    int length(int k) {
        return chunk[k] < 0 ? 0 : length[k];
    }

    private RDDBlockId chunkId(int c) {
        return chunkId(rddId, partitions, partition, c);
    }

    private static RDDBlockId chunkId(int rddId, int partitions, int partition, int c) {
        long index = (long) c * partitions + partition;
        if (index > Integer.MAX_VALUE) {
            throw new IllegalStateException("partition " + partition + " spills more chunks than Spark's block ids "
                    + "can number; use more partitions (train.numShards)");
        }
        return new RDDBlockId(rddId, (int) index);
    }

    /** The place of block {@code k} for messages: the chunk's file and the block's bytes in it. */
    String describe(int k) {
        RDDBlockId id = chunkId(chunk[k]);
        SparkEnv env = SparkEnv.get();
        String file = env == null ? id.name() : env.blockManager().diskBlockManager().getFile(id).toString();
        return "packed block " + k + " of partition " + partition + " (bytes " + offset[k] + ".."
                + (offset[k] + length[k]) + " of " + file + ")";
    }

    /**
     * Writes the blocks of one partition that go to disk while it is packed, into chunk buffers handed to the
     * block manager as they fill. Not thread-safe.
     */
    static final class Writer {
        private final int rddId;
        private final int partitions;
        private final int partition;
        private final BlockManager blocks;
        private ByteBuffer buffer;
        private int chunks;
        private long bytes;
        private int[] chunk = new int[64];
        private int[] offset = new int[64];
        private int[] length = new int[64];
        private int count;

        /**
         * A writer for partition {@code partition} of {@code partitions}, under the reserved RDD id {@code rddId};
         * needs a running Spark executor (or driver, in local mode).
         */
        Writer(int rddId, int partitions, int partition) {
            SparkEnv env = SparkEnv.get();
            if (env == null) {
                throw new IllegalStateException("packed blocks go to disk through Spark's block manager: no Spark "
                        + "environment in this JVM");
            }
            if (env.conf().getBoolean("spark.io.encryption.enabled", false)) {
                throw new IllegalStateException("sparkprop writes the blocks that do not fit in memory unencrypted, "
                        + "and spark.io.encryption.enabled is true; give the executors more memory or set "
                        + PackedData.STORAGE_MEMORY_KEY + " so that the data fits in memory");
            }
            this.rddId = rddId;
            this.partitions = partitions;
            this.partition = partition;
            this.blocks = env.blockManager();
        }

        /** Records that block {@code k} stays in memory. */
        void inMemory(int k) {
            place(k, -1, 0, 0);
        }

        /** Encodes block {@code k} into the current chunk (flushed first when it has no room). */
        void write(int k, org.ejml.data.Matrix x, org.ejml.data.Matrix y, double[] w) {
            int size = BlockCodec.encodedBytes(x, y, w);
            if (buffer != null && buffer.remaining() < size) {
                flush();
            }
            if (buffer == null) {
                buffer = ByteBuffer.allocate(Math.max(CHUNK_BYTES, size));
            } else if (buffer.position() == 0 && buffer.capacity() < size) {
                buffer = ByteBuffer.allocate(size);
            }
            int at = buffer.position();
            BlockCodec.encode(x, y, w, buffer);
            place(k, chunks, at, size);
            bytes += size;
        }

        private void place(int k, int c, int at, int size) {
            if (k >= chunk.length) {
                chunk = java.util.Arrays.copyOf(chunk, 2 * k);
                offset = java.util.Arrays.copyOf(offset, 2 * k);
                length = java.util.Arrays.copyOf(length, 2 * k);
            }
            chunk[k] = c;
            offset[k] = at;
            length[k] = size;
            count = Math.max(count, k + 1);
        }

        /**
         * Hands the current chunk to the block manager, in place of a chunk of that id an earlier attempt of this
         * partition wrote here: its blocks may lie elsewhere in it (another budget kept other blocks in memory),
         * and the block manager keeps an existing block rather than the bytes put again.
         */
        private void flush() {
            if (buffer == null || buffer.position() == 0) {
                return;
            }
            ByteBuffer written = buffer.duplicate();
            written.flip();
            RDDBlockId id = chunkId(rddId, partitions, partition, chunks);
            if (blocks.getStatus(id).isDefined()) {
                blocks.removeBlock(id, true);
            }
            // DISK_ONLY: the bytes go to a file and the buffer is not kept, so it is reused; the driver is told,
            // so that a task running elsewhere can fetch the chunk
            blocks.putBytes(id, new ChunkedByteBuffer(written), StorageLevel.DISK_ONLY(), true,
                    ClassTag$.MODULE$.apply(byte[].class));
            chunks++;
            buffer.clear();
        }

        /** Flushes the last chunk; the placement of every block. */
        DiskBlocks finish() {
            flush();
            buffer = null;
            return new DiskBlocks(rddId, partitions, partition, java.util.Arrays.copyOf(chunk, count),
                    java.util.Arrays.copyOf(offset, count), java.util.Arrays.copyOf(length, count), bytes);
        }
    }

    /**
     * Reads blocks of this shard: one positional read each from the chunk's local file, or from the chunk
     * fetched whole from the executor that holds it. Reads may come from several threads at once; close it
     * when the task is done.
     */
    final class Reader implements AutoCloseable {
        private final Map<Integer, FileChannel> files = new HashMap<>();
        private final Map<Integer, ByteBuffer> fetched = new HashMap<>();

        /** Block {@code k} read and decoded. */
        BlockCodec.Decoded read(int k) {
            return read(k, ByteBuffer.allocate(length[k]), null);
        }

        /** Bytes block {@code k} takes: the capacity {@link #read(int, ByteBuffer, BlockCodec.Decoded)} needs. */
        int bytes(int k) {
            return length[k];
        }

        /**
         * Block {@code k} read into {@code into} (of at least {@link #bytes} capacity; cleared first) and decoded
         * into the arrays of {@code reuse} where they fit.
         */
        BlockCodec.Decoded read(int k, ByteBuffer into, BlockCodec.Decoded reuse) {
            into.clear().limit(length[k]);
            ByteBuffer bytes = into;
            try {
                Object source = source(chunk[k]);
                if (source instanceof FileChannel) {
                    FileChannel file = (FileChannel) source;
                    long at = offset[k];
                    while (bytes.hasRemaining()) {
                        int n = file.read(bytes, at + bytes.position());
                        if (n < 0) {
                            throw new IOException("the file ends after " + (at + bytes.position()) + " bytes");
                        }
                    }
                } else {
                    ByteBuffer whole = ((ByteBuffer) source).duplicate();
                    whole.limit(offset[k] + length[k]).position(offset[k]);
                    bytes.put(whole);
                }
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("cannot read " + describe(k) + ": " + e, e);
            }
            bytes.flip();
            return BlockCodec.decode(bytes, () -> describe(k), reuse);
        }

        private synchronized Object source(int c) throws IOException {
            FileChannel open = files.get(c);
            if (open != null) {
                return open;
            }
            ByteBuffer held = fetched.get(c);
            if (held != null) {
                return held;
            }
            RDDBlockId id = chunkId(c);
            BlockManager blocks = SparkEnv.get().blockManager();
            File file = blocks.diskBlockManager().getFile(id);
            try {
                FileChannel channel = FileChannel.open(file.toPath(), StandardOpenOption.READ);
                files.put(c, channel);
                return channel;
            } catch (NoSuchFileException e) {
                // the shard was packed on another executor: fetch its chunk from there
                Option<ChunkedByteBuffer> remote = blocks.getRemoteBytes(id);
                if (remote.isEmpty()) {
                    throw new IOException(file + " does not exist here and no executor holds " + id.name(), e);
                }
                ByteBuffer whole = remote.get().toByteBuffer();
                fetched.put(c, whole);
                return whole;
            }
        }

        @Override
        public synchronized void close() {
            for (FileChannel f : files.values()) {
                try {
                    f.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            files.clear();
            fetched.clear();
        }
    }
}
