package org.llamawb.model.weights;

import java.util.Arrays;

/**
 * What a checkpoint says about one tensor before it is read.
 *
 * @param name Hugging Face tensor name
 * @param dtype storage type in the file
 * @param shape dimensions, outermost first
 */
public record TensorInfo(String name, StorageType dtype, long[] shape) {

    public TensorInfo {
        shape = shape.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
