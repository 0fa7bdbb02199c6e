/** The config of the metrics and dashboard tests: a plain limit, a shadow one, a detailed_metric one. */
export const WEB_CONFIG = `domain: web
descriptors:
  - key: user
    rate_limit: { unit: minute, requests_per_unit: 10 }
  - key: path
    value: /beta
    shadow_mode: true
    rate_limit: { unit: minute, requests_per_unit: 2 }
  - key: plan
    detailed_metric: true
    rate_limit: { unit: hour, requests_per_unit: 100 }
`;
