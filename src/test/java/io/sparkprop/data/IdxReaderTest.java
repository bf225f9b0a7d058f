package io.sparkprop.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;

import io.sparkprop.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    private Path write(String name, int magic, int[] header, byte[] payload) throws IOException {
        Path file = dir.resolve(name);
        TestData.writeIdx(file, magic, header, payload);
        return file;
    }

    @Test
    void readsGzippedImagesAndPlainLabels() throws IOException {
        Path images = write("img.gz", 2051, new int[] {2, 2, 3}, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, (byte) 255});
        double[][] x = IdxReader.readImages(images, 1.0);
        assertEquals(2, x.length);
        assertArrayEquals(new double[] {6, 7, 8, 9, 10, 255}, x[1]);
        assertEquals(1.0, IdxReader.readImages(images, 1 / 255.0)[1][5]);
        Path labels = write("lab", 2049, new int[] {3}, new byte[] {9, 0, 4});
        assertArrayEquals(new int[] {9, 0, 4}, IdxReader.readLabels(labels));
    }

    @Test
    void wrongKindAndTruncatedFilesAreNamed() throws IOException {
        Path labels = write("lab.gz", 2049, new int[] {3}, new byte[] {9, 0, 4});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IdxReader.readImages(labels, 1));
        assertEquals(labels + " is not an IDX image file: magic number 2049, expected 2051", e.getMessage());
        Path truncated = write("img", 2051, new int[] {3, 2, 2}, new byte[] {1, 2, 3, 4, 5, 6});
        e = assertThrows(IllegalArgumentException.class, () -> IdxReader.readImages(truncated, 1));
        assertTrue(e.getMessage().startsWith(truncated + " is truncated: it ends in item 1 of 3"), e.getMessage());
    }
}
