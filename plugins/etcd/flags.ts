import * as Flags from '@oclif/core/flags';

/** The etcd store's flags; each reaches `EtcdSettings` camel-cased (`etcd-endpoints` → `etcdEndpoints`). */
export const etcdFlags = {
  'etcd-endpoints': Flags.string({
    description: 'etcd endpoints, comma-separated [default: http://127.0.0.1:2379]',
    env: 'ETCD_ENDPOINTS',
    helpGroup: 'STORE',
  }),
  'etcd-username': Flags.string({ description: 'etcd user name', env: 'ETCD_USERNAME', helpGroup: 'STORE' }),
  'etcd-password': Flags.string({ description: 'etcd password', env: 'ETCD_PASSWORD', helpGroup: 'STORE' }),
  'etcd-ca': Flags.string({ description: 'CA certificate file (PEM) for etcd over TLS', env: 'ETCD_CA', helpGroup: 'STORE' }),
  'etcd-cert': Flags.string({ description: 'client certificate file (PEM) for etcd', env: 'ETCD_CERT', helpGroup: 'STORE' }),
  'etcd-key': Flags.string({ description: 'client key file (PEM) for etcd', env: 'ETCD_KEY', helpGroup: 'STORE' }),
};
