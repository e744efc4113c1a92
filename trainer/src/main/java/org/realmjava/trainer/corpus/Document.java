package org.realmjava.trainer.corpus;

/** One document of a corpus as its file gives it: an id, a title (may be empty) and the text. */
public record Document(String id, String title, String text) {}
