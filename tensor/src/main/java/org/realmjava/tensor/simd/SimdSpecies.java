package org.realmjava.tensor.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float species for the whole JVM, chosen once: {@code -Drealm.vectorbits=128|256|512}
 * forces a width (tests run every width this way), otherwise the CPU's preferred one.
 * It must be a static final constant: a species computed inside a method is not constant-folded
 * and the kernels lose intrinsification (measured ~30x slower).
 */
public final class SimdSpecies {
    public static final VectorSpecies<Float> FLOAT = choose(System.getProperty("realm.vectorbits", ""));

    private SimdSpecies() {}

    private static VectorSpecies<Float> choose(String bits) {
        return switch (bits.trim()) {
            case "", "auto", "none" -> FloatVector.SPECIES_PREFERRED;
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("realm.vectorbits must be 128, 256, 512 or auto, not '" + bits + "'");
        };
    }
}
