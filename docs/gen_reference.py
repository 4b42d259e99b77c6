#!/usr/bin/env python3
"""Writes docs/reference.md from the public half of prompt_attn.h: every declaration with the
comment above it (its contract), grouped by the header's sections. The header is the single
source; run this after changing a public comment:  python3 docs/gen_reference.py"""
import os, re

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = open(os.path.join(HERE, '..', 'prompt_attn.h')).read()
pub = SRC[SRC.index('/* ==== config & status'):SRC.index('#endif /* PATTN_H_INCLUDE */')]
lines = pub.split('\n')

def uncomment(block):
    text = '\n'.join(block)
    text = re.sub(r'^\s*/\*\s?', '', text)
    text = re.sub(r'\s*\*/\s*$', '', text)
    return '\n'.join(l[3:] if l.startswith('   ') else l for l in text.split('\n')).strip()

def names_of(code):
    found = re.findall(r'PATTN_DEF [^(]*?\b(pattn_[a-z0-9_]+)\s*\(', code)
    found += re.findall(r'^\}\s*(pattn_[a-z0-9_]+);', code, re.M)
    found += re.findall(r'^typedef [^{;]*?\b(pattn_[a-z0-9_]+)\s*;', code, re.M)
    found += re.findall(r'^typedef [^;{]*\(\*(pattn_[a-z0-9_]+)\)', code, re.M)
    found += re.findall(r'^#define (PATTN_[A-Z0-9_]+)', code, re.M)
    found += re.findall(r'^struct (pattn_[a-z0-9_]+)', code, re.M)
    return found

out = ['# prompt_attn.h reference', '',
       'Every public type, macro and function of `prompt_attn.h` 1.0, with its contract, in the',
       "header's order (the order data flows). Written from the header's own comments by",
       '`docs/gen_reference.py`. Models and generators are explained in [models.md](models.md),',
       'the formulas in [theory.md](theory.md).', '',
       'Common rules: functions that can fail return a `pattn_status` and write nothing on',
       'failure; `pattn_last_error()` then names the function, the argument and the rule it',
       'broke. Functions returning a value return NaN (or 0 for sizes) on invalid input and',
       'record the same kind of message. Zero-initialised option and model structs mean the',
       'documented defaults (`= {0}` in C, `= {}` in C++).', '']
toc = []
i, comment, group = 0, [], []

def emit():
    global group, comment
    if not group:
        return
    code = '\n'.join(group).rstrip()
    names = names_of(code)
    if names:
        out.append('### ' + ', '.join('`%s`' % n for n in names))
        out.append('')
        out.append('```c\n' + code.replace('PATTN_DEF ', '') + '\n```')
        out.append('')
        if comment:
            out.append(uncomment(comment))
            out.append('')
    group, comment = [], []

while i < len(lines):
    l = lines[i]
    if l.startswith('/* ===='):
        emit()
        title = l.strip('/* =').strip()
        out.append('## ' + title[0].upper() + title[1:])
        out.append('')
        toc.append(title)
        i += 1
        continue
    if l.startswith('/*') and not group:
        block = [l]
        while not lines[i].rstrip().endswith('*/'):
            i += 1
            block.append(lines[i])
        comment = block
        i += 1
        continue
    if l.startswith('/*') and group:
        emit()
        continue
    if l.strip() == '' or l.startswith('#ifdef __cplusplus') or l.startswith('extern "C"') or l == '#endif' or l == '}':
        emit()
        comment = []
        i += 1
        continue
    group.append(l)
    if (l.startswith('typedef') or l.startswith('struct')) and '{' in l and '}' not in l:
        while not lines[i].startswith('}'):
            i += 1
            group.append(lines[i])
    i += 1
emit()
open(os.path.join(HERE, 'reference.md'), 'w').write('\n'.join(out).rstrip() + '\n')
