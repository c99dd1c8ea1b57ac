/** `npm run docs`: regenerates docs/functions.md from the function catalogue. */
import { writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../src/lang/catalogue-doc.js';

writeFileSync(new URL('../docs/functions.md', import.meta.url), catalogueMarkdown());
