/** `npm run docs`: regenerates the documents made from the code: docs/functions.md (the function catalogue) and docs/configuration.md (the settings). */
import { writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../src/lang/catalogue-doc.js';
import { configurationMarkdown } from '../src/server/settings.js';

writeFileSync(new URL('../docs/functions.md', import.meta.url), catalogueMarkdown());
writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationMarkdown());
