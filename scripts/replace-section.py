#!/usr/bin/env python3
"""replace-section.py FILE NAME: replaces the text between <!-- BEGIN NAME --> and <!-- END NAME -->
in FILE with standard input (appending the section if it is missing), written atomically."""
import os, sys, tempfile

path, name = sys.argv[1], sys.argv[2]
body = sys.stdin.read().rstrip('\n') + '\n'
begin, end = f'<!-- BEGIN {name} -->', f'<!-- END {name} -->'
text = open(path).read() if os.path.exists(path) else '# Benchmarks\n\nFigures from the scripts named in each section; rerun them to refresh.\n'
block = f'{begin}\n{body}{end}\n'
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end) + 1:]
else:
    text = text.rstrip('\n') + '\n\n' + block
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)) or '.')
with os.fdopen(fd, 'w') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, path)
