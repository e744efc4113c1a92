package org.realmjava.transformer.onnx;

/** An ONNX file that cannot be read or mapped onto a model; one line naming the file and the problem. */
public class OnnxFormatException extends RuntimeException {
    public OnnxFormatException(String message) {
        super(message);
    }
}
