/**
 * Worker-thread entry for makecatalogs: reads the pkginfo files it is given and posts the packed
 * results back, transferring the fragment buffer instead of copying it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { packResults, readPkginfo, type PkginfoFile } from './pkginfo-reader.js';

const files = workerData as PkginfoFile[];
const packed = packResults(files.map(readPkginfo));
parentPort?.postMessage(packed, [packed.blob]);
