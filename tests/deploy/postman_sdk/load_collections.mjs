// Loads each collection file named on the command line with Postman's collection SDK (the
// library Postman and newman use) and prints, as one JSON document, what the SDK understood:
// the collection's name and variables, and every request with its resolved URL and headers.
import { readFileSync } from 'node:fs';
import sdk from 'postman-collection';

const { Collection, Item } = sdk;

function requests(collection) {
  const found = [];
  collection.forEachItem((item) => {
    const request = item.request;
    const parents = [];
    for (let parent = item.parent(); parent && !Collection.isCollection(parent); parent = parent.parent()) {
      parents.unshift(parent.name);
    }
    found.push({
      id: item.id,
      name: item.name,
      folder: parents.join('/'),
      isItem: Item.isItem(item),
      method: request.method,
      // Variables resolved the way Postman sends the request.
      url: collection.variables.replace(request.url.toString(), collection.variables),
      path: request.url.getPath(),
      pathVariables: request.url.variables.map((v) => v.key),
      query: request.url.query.map((q) => ({ key: q.key, disabled: Boolean(q.disabled) })),
      headers: request.headers
        .all()
        .map((h) => ({ key: h.key, value: h.value, disabled: Boolean(h.disabled) })),
      body: request.body ? { mode: request.body.mode, raw: request.body.raw } : null,
    });
  });
  return found;
}

const out = {};
for (const file of process.argv.slice(2)) {
  const collection = new Collection(JSON.parse(readFileSync(file, 'utf8')));
  out[file] = {
    isCollection: Collection.isCollection(collection),
    id: collection.id,
    name: collection.name,
    variables: Object.fromEntries(collection.variables.all().map((v) => [v.key, v.value])),
    requests: requests(collection),
  };
}
process.stdout.write(JSON.stringify(out));
