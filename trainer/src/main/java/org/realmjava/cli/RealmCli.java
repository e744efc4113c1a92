package org.realmjava.cli;
public class RealmCli { public static void main(String[] a) {} }
