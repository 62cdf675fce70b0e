// kiln's Functions app on Flex Consumption (one app per plan, Python 3.11), its app settings, and App Service
// authentication (Entra bearer tokens for kiln's own app registration) in front of the ARM-shaped API.
param planName string
param appName string
param location string
param tags object
param identityId string
param identityClientId string
// The templates' user-assigned identities: kiln writes a template's images, gallery versions and VHDs, and
// reads its Azure Storage artifacts, as that identity (docs/security.md), so the app must hold each one. The
// deployer needs Managed Identity Operator on them (ARM checks assign/action when attaching).
param templateIdentityIds array
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param storeContainerName string
param appInsightsConnectionString string
param keyVaultUri string
param keyVaultId string

@description('Durable Task Scheduler endpoint; empty: the Azure Storage backend.')
param schedulerEndpoint string
param taskHubName string
param apiAppClientId string
param allowedClientApplicationIds array
param allowedPrincipalIds array
param janitorSchedule string
param sourcePollSchedule string
param maximumInstanceCount int
param instanceMemoryMB int

// The template identities kiln acts as sit beside kiln's own (an object keyed by resource id, built without
// lambdas so that every Bicep parser the checks use reads it).
var templateIdentityPairs = [for id in templateIdentityIds: '"${id}": {}']
var templateIdentities = json('{${join(templateIdentityPairs, ',')}}')
var useScheduler = !empty(schedulerEndpoint)

// The Functions host and the Durable Azure Storage backend, identity-based (no connection string, no key).
var hostStorageSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: blobEndpoint
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: queueEndpoint
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: tableEndpoint
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    // App Service authentication accepts tokens of this tenant only.
    name: 'WEBSITE_AUTH_AAD_ALLOWED_TENANTS'
    value: tenant().tenantId
  }
]

// What shared/settings.py (and the timer functions) read.
var kilnSettings = [
  {
    name: 'KILN_AZURE_MODE'
    value: 'azure'
  }
  {
    name: 'KILN_AZURE_CLOUD'
    value: environment().name
  }
  {
    name: 'KILN_SUBSCRIPTION_ID'
    value: subscription().subscriptionId
  }
  {
    name: 'KILN_TENANT_ID'
    value: tenant().tenantId
  }
  {
    name: 'KILN_MANAGED_IDENTITY_CLIENT_ID'
    value: identityClientId
  }
  {
    // A connection string without a key: kiln's store authenticates with its identity.
    name: 'KILN_STORAGE_CONNECTION_STRING'
    value: 'BlobEndpoint=${blobEndpoint}'
  }
  {
    name: 'KILN_STORE_CONTAINER'
    value: storeContainerName
  }
  {
    name: 'KILN_KEY_VAULT_URL'
    value: keyVaultUri
  }
  {
    name: 'KILN_KEY_VAULT_ID'
    value: keyVaultId
  }
  {
    name: 'KILN_TASK_HUB'
    value: taskHubName
  }
  {
    name: 'KILN_TIMING_PROFILE'
    value: 'azure'
  }
  {
    name: 'KILN_JANITOR_SCHEDULE'
    value: janitorSchedule
  }
  {
    name: 'KILN_SOURCE_POLL_SCHEDULE'
    value: sourcePollSchedule
  }
  {
    // App Service authentication is on: the platform sets (and strips from callers) X-MS-CLIENT-PRINCIPAL*.
    name: 'KILN_TRUST_EASY_AUTH'
    value: 'true'
  }
]

// The Durable Task Scheduler backend: host.json's durableTask.storageProvider is overridden by app settings
// (AzureFunctionsJobHost__path__to__setting), so one host.json serves both backends.
var schedulerSettings = [
  {
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'azureManaged'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  }
]

// Both lists are ANDed by App Service; a list left empty is left out (no restriction of that kind).
var applicationsPolicy = empty(allowedClientApplicationIds) ? {} : { allowedApplications: allowedClientApplicationIds }
var principalsPolicy = empty(allowedPrincipalIds) ? {} : { allowedPrincipals: { identities: allowedPrincipalIds } }
var authorizationPolicy = union(applicationsPolicy, principalsPolicy)

var appSettings = concat(hostStorageSettings, kilnSettings, useScheduler ? schedulerSettings : [])

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex needs a zone-redundant storage account and region support; off by default to keep kiln cheap at rest
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales instances on demand (and to zero at rest); there is no fixed worker count (numberOfWorkers) to raise
  // checkov:skip=CKV_AZURE_17: callers authenticate with Entra bearer tokens (authsettingsV2) and function keys, not client certificates
  // checkov:skip=CKV_AZURE_78: FTP(S) is not supported on Flex Consumption (siteConfig.ftpsState is a deprecated property there)
  // checkov:skip=CKV_AZURE_213: kiln exposes no health endpoint and Flex replaces unhealthy instances itself
  // checkov:skip=CKV_AZURE_222: the ARM-shaped API and Event Grid deliveries arrive over the public endpoint; App Service authentication and function keys guard it
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: union({ '${identityId}': {} }, templateIdentities)
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No publishing with user names and passwords: azd and the CLI deploy with Entra tokens.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service authentication: a bearer token for api://<apiAppClientId> (never the ARM audience) or 401.
// Event Grid cannot send one; its webhook keeps the Functions system key as its guard.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: this check reads the authsettings (v1) shape; authsettingsV2 turns authentication on with platform.enabled, which CKV_AZURE_56 verifies
  // The checks below read the site's web configuration (sites/config 'web'); this resource is 'authsettingsV2' and has none of their properties.
  // checkov:skip=CKV_AZURE_63: not the web configuration (HTTP file-system logging does not exist on Flex; logs go to Application Insights)
  // checkov:skip=CKV_AZURE_65: not the web configuration (detailed error pages: kiln answers ARM-shaped error bodies)
  // checkov:skip=CKV_AZURE_66: not the web configuration (failed request tracing writes to the file system, which Flex has not)
  // checkov:skip=CKV_AZURE_80: not the web configuration, and kiln is a Python app (no .NET Framework)
  // checkov:skip=CKV_AZURE_88: not the web configuration, and Flex has no content share (the package is in a blob container)
  // checkov:skip=CKV_AZURE_222: not the web configuration; public access is the site's, justified on the site
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: apiAppClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${apiAppClientId}'
          ]
          defaultAuthorizationPolicy: authorizationPolicy
        }
      }
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
