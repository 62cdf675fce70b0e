// kiln in Azure: one resource group holding the Flex Consumption function app, its identity, host storage,
// monitoring, the build-secret vault and (optionally) a Durable Task Scheduler; subscription-scope rights for
// the staging resource groups kiln creates; the Event Grid system topic its SourceImage triggers listen to.
// The topic's event subscription is created by infra/hooks/postdeploy.sh, once the function exists.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and seeds every generated name.')
param environmentName string

@minLength(1)
@description('Region of kiln itself (builds run in the regions their templates name).')
param location string

@description('Resource group to create; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the person deploying (AZURE_PRINCIPAL_ID): may read kiln\'s documents and the scheduler dashboard. Empty: no grant.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@minLength(36)
@maxLength(36)
@description('Application (client) id of the Entra app registration whose tokens kiln\'s API accepts (audience api://<id>).')
param apiAppClientId string

@description('Client ids of the applications allowed to call the API (appid/azp claim); empty: any client of the tenant.')
param allowedClientApplicationIds array = []

@description('Object ids of the users, groups\' members or service principals allowed to call the API (oid claim); empty: any.')
param allowedPrincipalIds array = []

@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
@description('Durable Functions backend: the host storage account (default) or a Durable Task Scheduler.')
param durableBackend string = 'AzureStorage'

@allowed([
  'Consumption'
  'Dedicated'
])
param schedulerSku string = 'Consumption'

@minLength(1)
@description('Addresses the Durable Task Scheduler accepts (never empty: an empty list refuses everything). Flex apps without a virtual network have no fixed outbound address, so access is by identity.')
param schedulerIpAllowlist array = [
  '0.0.0.0/0'
]

@minLength(3)
@maxLength(45)
@description('Durable task hub name (letters and digits, starting with a letter).')
param taskHubName string = 'kiln'

@description('Also give kiln Contributor on the subscription (opt-in; the custom role holds what kiln\'s code does).')
param grantContributor bool = false

@description('Resource ids of user-assigned identities that templates attach to build VMs (vmProfile.userAssignedIdentities): kiln gets Managed Identity Operator on each.')
param buildVmIdentityIds array = []

@description('Resource ids of the template identities kiln acts as: attached to the function app beside kiln\'s own identity.')
param templateIdentityIds array = []

@description('Name of an existing Microsoft.Resources.Subscriptions system topic of this subscription to reuse (only one may exist); empty: create one.')
param existingSystemTopicName string = ''

@description('Resource group of that existing system topic.')
param existingSystemTopicResourceGroup string = ''

@description('Recover kiln\'s soft-deleted vault instead of creating it (after azd down, within the 7 days of soft delete).')
param recoverKeyVault bool = false

@description('NCRONTAB schedule of the janitor.')
param janitorSchedule string = '0 */30 * * * *'

@description('NCRONTAB schedule of the SourceImage trigger poll.')
param sourcePollSchedule string = '0 */30 * * * *'

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var appName = 'func-kiln-${token}'
var deploymentContainerName = 'app-package-${take(appName, 32)}-${take(token, 7)}'
var storeContainerName = 'kiln'
var deadLetterContainerName = 'eventgrid-deadletter'
var useScheduler = durableBackend == 'DurableTaskScheduler'
var reuseTopic = !empty(existingSystemTopicName)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: '${environmentName}-identity'
  scope: rg
  params: {
    name: 'id-kiln-${token}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${environmentName}-storage'
  scope: rg
  params: {
    name: 'stkiln${token}'
    location: location
    tags: tags
    containerNames: [
      deploymentContainerName
      storeContainerName
      deadLetterContainerName
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${environmentName}-monitoring'
  scope: rg
  params: {
    workspaceName: 'log-kiln-${token}'
    appInsightsName: 'appi-kiln-${token}'
    location: location
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: '${environmentName}-keyvault'
  scope: rg
  params: {
    name: 'kv-kiln-${take(token, 13)}'
    location: location
    tags: tags
    recover: recoverKeyVault
  }
}

module scheduler 'modules/scheduler.bicep' = if (useScheduler) {
  name: '${environmentName}-scheduler'
  scope: rg
  params: {
    name: 'dts-kiln-${token}'
    location: location
    tags: tags
    sku: schedulerSku
    ipAllowlist: schedulerIpAllowlist
    taskHubName: taskHubName
  }
}

module app 'modules/function-app.bicep' = {
  name: '${environmentName}-app'
  scope: rg
  params: {
    planName: 'plan-kiln-${token}'
    appName: appName
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    templateIdentityIds: templateIdentityIds
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    storeContainerName: storeContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: vault.outputs.uri
    keyVaultId: vault.outputs.id
    schedulerEndpoint: useScheduler ? scheduler.outputs.endpoint : ''
    taskHubName: taskHubName
    apiAppClientId: apiAppClientId
    allowedClientApplicationIds: allowedClientApplicationIds
    allowedPrincipalIds: allowedPrincipalIds
    janitorSchedule: janitorSchedule
    sourcePollSchedule: sourcePollSchedule
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// Data-plane and monitoring roles on the resources of kiln's own group.
module rbac 'modules/rbac.bicep' = {
  name: '${environmentName}-rbac'
  scope: rg
  params: {
    kilnPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: vault.outputs.name
    keyVaultReferenceRoleId: builderRole.outputs.keyVaultReferenceRoleId
    schedulerName: useScheduler ? scheduler.outputs.name : ''
  }
}

// What kiln does in the subscription: staging groups, build VMs, images, galleries (a custom role).
module builderRole 'modules/builder-role.bicep' = {
  name: '${environmentName}-builder-role'
  params: {
    environmentName: environmentName
    principalId: identity.outputs.principalId
    grantContributor: grantContributor
  }
}

// kiln attaches these identities to build VMs: ARM checks userAssignedIdentities/assign/action on each.
module buildVmIdentityOperator 'modules/identity-operator.bicep' = [
  for (id, i) in buildVmIdentityIds: {
    name: '${environmentName}-mi-operator-${i}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      identityName: last(split(id, '/'))
      principalId: identity.outputs.principalId
    }
  }
]

module topic 'modules/event-topic.bicep' = {
  name: '${environmentName}-event-topic'
  scope: resourceGroup(reuseTopic ? existingSystemTopicResourceGroup : rg.name)
  params: {
    create: !reuseTopic
    name: reuseTopic ? existingSystemTopicName : 'evgt-kiln-${token}'
    tags: tags
  }
  dependsOn: [
    rg
  ]
}

// The topic's identity writes undeliverable events to the dead-letter container (shared keys are off).
module deadLetterAccess 'modules/dead-letter-access.bicep' = {
  name: '${environmentName}-dead-letter-access'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    containerName: deadLetterContainerName
    topicPrincipalId: topic.outputs.principalId
  }
}

// azd copies these into the environment: the postdeploy hook and the kiln CLI read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output KILN_SUBSCRIPTION string = subscription().subscriptionId
output KILN_URL string = 'https://${app.outputs.defaultHostName}'
output KILN_API_APP_ID string = apiAppClientId
output KILN_FUNCTION_APP_NAME string = app.outputs.name
output KILN_FUNCTION_APP_ID string = app.outputs.id
output KILN_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output KILN_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output KILN_KEY_VAULT_NAME string = vault.outputs.name
output KILN_STORAGE_ACCOUNT_ID string = storage.outputs.id
output KILN_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output KILN_EVENT_GRID_TOPIC_NAME string = topic.outputs.name
output KILN_EVENT_GRID_TOPIC_RESOURCE_GROUP string = reuseTopic ? existingSystemTopicResourceGroup : rg.name
output KILN_DURABLE_BACKEND string = durableBackend
