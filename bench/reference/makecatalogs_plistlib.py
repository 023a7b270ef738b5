#!/usr/bin/env python3
"""A reference makecatalogs in plain Python (plistlib), written for the benchmark only.

Munki 6's makecatalogs is Python over plistlib-style parsing and cannot run on Linux (it needs
PyObjC); this script does the same work the same way (walk pkgsinfo/, parse every file, strip
notes/_ keys, check pkgs/, write each catalog as an XML plist) so both tools are timed on one
machine in one run.
"""
import os
import plistlib
import sys


def main(repo):
    pkgs = set()
    for base, dirs, files in os.walk(os.path.join(repo, 'pkgs')):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        for f in files:
            if not f.startswith('.'):
                pkgs.add(os.path.relpath(os.path.join(base, f), os.path.join(repo, 'pkgs')))
    catalogs = {'all': []}
    for base, dirs, files in os.walk(os.path.join(repo, 'pkgsinfo')):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for f in sorted(files):
            if f.startswith('.'):
                continue
            with open(os.path.join(base, f), 'rb') as fh:
                item = plistlib.load(fh)
            for key in list(item):
                if key == 'notes' or key.startswith('_'):
                    del item[key]
            if item.get('installer_item_location') not in pkgs:
                continue
            catalogs['all'].append(item)
            for name in item.get('catalogs', []):
                catalogs.setdefault(name, []).append(item)
    os.makedirs(os.path.join(repo, 'catalogs'), exist_ok=True)
    for name, items in catalogs.items():
        with open(os.path.join(repo, 'catalogs', name), 'wb') as fh:
            plistlib.dump(items, fh)


if __name__ == '__main__':
    main(sys.argv[1])
