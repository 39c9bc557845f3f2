#!/usr/bin/env python3
"""mutone.py FILE LINE COL TYPE: apply one gremlins mutation (the operator at
LINE:COL, as gremlins prints it) to FILE in place and print the changed line;
exit 1 when TYPE's operator is not at that place. Used by scripts/mutate.sh
for the mutants gremlins reports as NOT COVERED without running them."""
import sys
f, line, col, typ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
src = open(f).read().split('\n')
l = src[line-1]
# gremlins columns count a tab as 1 and are 1-based bytes
i = col - 1
ops2 = {'==': '!=', '!=': '==', '<=': '>', '>=': '<', '&&': '||', '||': '&&', '++': '--', '--': '++'}
neg1 = {'<': '>=', '>': '<='}
bnd2 = {'<=': '<', '>=': '>'}
bnd1 = {'<': '<=', '>': '>='}
ar = {'+': '-', '-': '+', '*': '/', '/': '*', '%': '*'}
two = l[i:i+2]; one = l[i:i+1]
new = None
if typ == 'CONDITIONALS_NEGATION':
    if two in ('==', '!=', '<=', '>='): new = l[:i] + ops2[two] + l[i+2:]
    elif one in neg1: new = l[:i] + neg1[one] + l[i+1:]
elif typ == 'CONDITIONALS_BOUNDARY':
    if two in bnd2: new = l[:i] + bnd2[two] + l[i+2:]
    elif one in bnd1: new = l[:i] + bnd1[one] + l[i+1:]
elif typ == 'ARITHMETIC_BASE':
    if one in ar and two not in ('++', '--', '+=', '-='): new = l[:i] + ar[one] + l[i+1:]
    elif two in ('+=', '-='): new = l[:i] + ('-=' if two == '+=' else '+=') + l[i+2:]
elif typ == 'INCREMENT_DECREMENT':
    if two in ('++', '--'): new = l[:i] + ops2[two] + l[i+2:]
elif typ == 'INVERT_NEGATIVES':
    if one == '-': new = l[:i] + l[i+1:]
if new is None:
    print(f"cannot apply {typ} at {line}:{col}: {l.strip()!r}", file=sys.stderr); sys.exit(1)
src[line-1] = new
open(f, 'w').write('\n'.join(src))
print(new.strip())
