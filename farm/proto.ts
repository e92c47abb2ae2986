import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { packagePath } from './compiled.ts';

// proto/ sits at the package root, beside dist/ when this module runs compiled.
export const PROTO_PATH = packagePath('proto', 'racefarm.proto');

/** keepCase: fields are snake_case as in the .proto; uint64 arrive as decimal strings. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface Loaded {
  farm: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
}

let loaded: Loaded | undefined;

export function loadProtos(): Loaded {
  if (loaded) return loaded;
  const farmDef = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)) as any;
  const healthDef = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS)) as any;
  loaded = { farm: farmDef.racefarm.v1.Farm, health: healthDef.grpc.health.v1.Health };
  return loaded;
}

export const FARM_SERVICE_NAME = 'racefarm.v1.Farm';
