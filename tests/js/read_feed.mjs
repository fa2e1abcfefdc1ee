#!/usr/bin/env node
// Read one feed file with @rowanmanning/feed-parser (an npm parser independent of Python's
// feedparser) and print what it understood as JSON on stdout.
//
// Usage: node tests/js/read_feed.mjs PATH
// Exit codes: 0 ok, 2 usage, 3 the parser rejected the document (message on stderr).
//
// Output shape (all values straight from the parser; null where it found nothing):
// {
//   "parser": {"name": "@rowanmanning/feed-parser", "version": "x.y.z"},
//   "feed": {title, description, url, self, language, published, updated, copyright,
//            generator, image, authors: [{name,email,url}], categories: [{term,label,url}],
//            meta: {type, version}},
//   "entries": [{id, title, link, author, authors, categories, category_objects,
//                published, updated, content, summary, image, media}]
// }
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseFeed } from '@rowanmanning/feed-parser';

const require = createRequire(import.meta.url);

async function main(argv) {
	if (argv.length !== 1) {
		process.stderr.write('usage: node read_feed.mjs PATH\n');
		return 2;
	}
	const xml = await readFile(argv[0], 'utf8');
	let feed;
	try {
		feed = parseFeed(xml);
	} catch (error) {
		process.stderr.write(`feed-parser rejected ${argv[0]}: ${error?.name}: ${error?.message}\n`);
		return 3;
	}
	const json = feed.toJSON();
	const { items, ...feedFields } = json;
	const entries = items.map((item) => ({
		id: item.id,
		title: item.title,
		link: item.url,
		author: item.authors[0]?.name ?? null,
		authors: item.authors,
		categories: item.categories.map((category) => category.term),
		category_objects: item.categories,
		published: item.published,
		updated: item.updated,
		content: item.content,
		summary: item.description,
		image: item.image,
		media: item.media
	}));
	const { version } = require('@rowanmanning/feed-parser/package.json');
	const out = {
		parser: { name: '@rowanmanning/feed-parser', version },
		feed: feedFields,
		entries
	};
	process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
	return 0;
}

process.exitCode = await main(process.argv.slice(2));
