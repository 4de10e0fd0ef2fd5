package org.llamawb.model.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.llamawb.model.BadInputException;

/**
 * A checkpoint file opened for memory-mapped reads with long offsets.
 *
 * <p>Each region is mapped on its own, so files larger than 2 GiB work (a single mapping is limited to
 * {@code Integer.MAX_VALUE} bytes). Regions are mapped copy-on-write ({@code MapMode.PRIVATE}): arrays
 * built on them may be modified in place (an optimiser step) without the change reaching the file,
 * and without a crash that a read-only mapping would cause. Java only grants a private mapping on a
 * channel opened for writing, so a file we may not open for writing is copied into direct memory
 * instead; nothing is ever written to the file.
 */
final class MappedFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final boolean privateMapping;
    private final long size;

    private MappedFile(Path path, FileChannel channel, boolean privateMapping) throws IOException {
        this.path = path;
        this.channel = channel;
        this.privateMapping = privateMapping;
        this.size = channel.size();
    }

    static MappedFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": not found (or not a regular file)");
        }
        if (Files.isWritable(path)) {
            try {
                return new MappedFile(path, FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE), true);
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                // read-only file system or similar: fall back to copying reads
            }
        }
        try {
            return new MappedFile(path, FileChannel.open(path, StandardOpenOption.READ), false);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot open: " + e.getMessage(), e);
        }
    }

    Path path() {
        return path;
    }

    long size() {
        return size;
    }

    /** Copies {@code length} bytes at {@code offset} onto the heap, little-endian (headers). */
    ByteBuffer read(long offset, int length) {
        checkRange(offset, length);
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (buf.hasRemaining()) {
                int n = channel.read(buf, offset + buf.position());
                if (n < 0) {
                    throw new BadInputException(path + ": unexpected end of file at byte " + (offset + buf.position()));
                }
            }
        } catch (IOException e) {
            throw new BadInputException(path + ": read failed at byte " + offset + ": " + e.getMessage(), e);
        }
        return buf.flip();
    }

    /**
     * {@code length} bytes at {@code offset} as a direct buffer in little-endian order: a private
     * mapping of the file when possible, otherwise a copy.
     */
    ByteBuffer map(long offset, int length) {
        checkRange(offset, length);
        if (length == 0) {
            return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        try {
            if (privateMapping) {
                return channel.map(FileChannel.MapMode.PRIVATE, offset, length).order(ByteOrder.LITTLE_ENDIAN);
            }
            ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, offset, length);
            ByteBuffer copy = ByteBuffer.allocateDirect(length);
            copy.put(mapped).flip();
            return copy.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot map bytes [" + offset + ", " + (offset + length) + "): "
                    + e.getMessage(), e);
        }
    }

    private void checkRange(long offset, int length) {
        if (offset < 0 || length < 0 || offset > size - length) {
            // A caller validated the range against the header; reaching here means the file changed.
            throw new BadInputException(path + ": bytes [" + offset + ", " + (offset + length)
                    + ") lie outside the file of " + size + " bytes");
        }
    }

    @Override
    public void close() {
        try {
            channel.close(); // mappings stay valid after the channel closes
        } catch (IOException e) {
            // nothing was written; a failed close loses nothing
        }
    }
}
