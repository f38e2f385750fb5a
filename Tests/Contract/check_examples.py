"""Every request body and every response content of Contracts/openapi.yaml has an example, and each
example validates against its schema (JSON Schema 2020-12, as OpenAPI 3.1 means it).

Run by ContractCheckTests (Swift); needs PyYAML and jsonschema, which openapi-spec-validator brings.
Prints one line per fault and exits 1 when there is any; prints the counts and exits 0 otherwise."""
import sys
import yaml
from jsonschema import Draft202012Validator, FormatChecker

doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))
components = doc['components']
faults, checked = [], 0


def resolve(node):
    while isinstance(node, dict) and '$ref' in node:
        kind, name = node['$ref'].split('/')[-2:]
        node = components[kind][name]
    return node


def check(where, media, content):
    global checked
    if 'example' not in content and 'examples' not in content:
        faults.append(f'{where} {media}: no example')
        return
    examples = [content['example']] if 'example' in content else [e.get('value') for e in content['examples'].values()]
    schema = dict(content.get('schema', {}))
    for example in examples:
        if 'json' in media:
            validator = Draft202012Validator({**schema, 'components': components}, format_checker=FormatChecker())
            for error in validator.iter_errors(example):
                faults.append(f'{where} {media}: {"/".join(map(str, error.absolute_path)) or "(root)"}: {error.message[:200]}')
        elif not isinstance(example, str):
            faults.append(f'{where} {media}: a {media} example is text')
        checked += 1


for path, item in doc['paths'].items():
    for method, operation in item.items():
        where = f'{operation["operationId"]} ({method.upper()} {path})'
        body = resolve(operation.get('requestBody'))
        for media, content in (body or {}).get('content', {}).items():
            check(where + ' request', media, content)
        for status, response in operation['responses'].items():
            for media, content in resolve(response).get('content', {}).items():
                check(f'{where} {status}', media, content)

for fault in faults:
    print(fault)
print(f'{checked} examples checked, {len(faults)} faults')
sys.exit(1 if faults else 0)
